package main

import (
	"fmt"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkGet200/client=raw-2         	     100	     1000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     3000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      70 allocs/op
BenchmarkGet200/client=semhttp-Send-2 	     100	     2100 ns/op	    6468 B/op	      77 allocs/op
BenchmarkGet200/client=retryablehttp-2	     100	     2200 ns/op	    5998 B/op	      69 allocs/op
BenchmarkGet200/client=semhttp-Do-2   	     100	     2500 ns/op	    6468 B/op	      90 allocs/op
BenchmarkGet200/client=semhttp-Do-2   	     100	     2600 ns/op	    6468 B/op	      90 allocs/op
BenchmarkGet200/client=semhttp-Do-2   	     100	     2700 ns/op	    6468 B/op	      90 allocs/op
BenchmarkGet200/client=semhttp-Do-2   	     100	     2400 ns/op	    6468 B/op	      90 allocs/op
BenchmarkGet200/client=semhttp-Do-2   	     100	     2500 ns/op	    6468 B/op	      90 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkGet200/client=raw-2         	     100	     2000 ns/op	    5945 B/op	      68 allocs/op
BenchmarkParallel64/client=raw-pool64 	     100	     1000 ns/op
BenchmarkRevalidate/kind=304/client=semhttp-Send-2 	100	 50 ns/op	0 body-B/op
BenchmarkRevalidate/kind=full-200/client=semhttp-Send-2 	100	 80 ns/op	102400 body-B/op
BenchmarkDownload/client=raw-2	10	1 ns/op	1000.5 MB/s
BenchmarkDownload/client=semhttp-Send-2	10	1 ns/op	900 MB/s
--- SKIP: BenchmarkPollJob/client=semhttp-Poller
PASS
`

func TestParse(t *testing.T) {
	res, err := parseBench(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := res.median("Get200", "raw", "ns/op"); !ok || got != 2000 {
		t.Errorf("median raw ns/op = %v, %v; want 2000", got, ok)
	}
	if got, _ := res.median("Get200", "raw", "allocs/op"); got != 68 {
		t.Errorf("median raw allocs = %v; want 68", got)
	}
	if got, ok := res.median("Parallel64", "raw-pool64", "ns/op"); !ok || got != 1000 {
		t.Errorf("name without -GOMAXPROCS suffix: %v, %v", got, ok)
	}
	if got, _ := res.median("Revalidate/kind=304", "semhttp-Send", "body-B/op"); got != 0 {
		t.Errorf("body-B/op = %v", got)
	}
	if want := []string{"Get200", "Parallel64", "Revalidate/kind=304", "Revalidate/kind=full-200", "Download"}; strings.Join(res.order, ",") != strings.Join(want, ",") {
		t.Errorf("order = %v", res.order)
	}
}

func TestReport(t *testing.T) {
	res, _ := parseBench(strings.NewReader(sample))
	rss, _ := parseRSS(strings.NewReader("rss client=semhttp-Send op=upload mib=256 vmhwm_kib=9000 time_maxrss_kib=9100\n" +
		"rss client=semhttp-Do op=upload mib=256 vmhwm_kib=40000\n"))
	var b strings.Builder
	var lines strings.Builder
	for i := range 5 { // five samples a side: enough for p < 0.05
		fmt.Fprintf(&lines, "BenchmarkPost201/client=raw\t2000\t%d instructions/op\n", 60000+i)
		fmt.Fprintf(&lines, "BenchmarkPost201/client=semhttp-Send\t2000\t%d instructions/op\n", 63000+i)
		fmt.Fprintf(&lines, "BenchmarkPost201/client=retryablehttp\t2000\t%d instructions/op\n", 61000+i)
	}
	instr, _ := parseBench(strings.NewReader(lines.String()))
	res.merge(instr)
	failed := report(&b, res, rss)
	out := b.String()
	for _, want := range []string{
		"PASS  Get200 semhttp-Send ns/op ≤ 1.10× raw", // 2100 ≤ 2200
		"FAIL  Get200 semhttp-Do ns/op ≤ 1.10× raw",   // 6 samples of 2400–2700 vs 1100, 3300 and 6× 2200: p≈0.01
		"PASS  Post201 semhttp-Send instructions/op ≤ 1.10× raw",
		"FAIL  Post201 semhttp-Send instructions/op ≤ retryablehttp",
		"63002 instructions/op vs 61002 instructions/op (1.03×), p=0.01",
		"FAIL  Get200 semhttp-Do allocs/op ≤ raw+15",   // 90 > 83
		"PASS  Get200 semhttp-Send allocs/op ≤ raw+15", // 77 ≤ 83
		"n.s.  Download semhttp-Send MB/s ≥ 0.95× raw", // 900 < 950.5, but one sample each
		"PASS  Revalidate 304 semhttp-Send transfers no body",
		"PASS  Revalidate 304 semhttp-Send ns/op < full 200 semhttp-Send",
		"PASS  peak RSS, upload through semhttp-Send < 32 MiB (256 MiB moved)",
		"FAIL  peak RSS, upload through semhttp-Do < 32 MiB",
		"n/a   Get200 semhttp-Send ns/op ≤ resty",
		"77 allocs/op vs 69 allocs/op (1.12×)",
		"info  Get200 semhttp-Send allocs/op vs retryablehttp",
		"PASS  Get200 semhttp-Send ns/op ≤ retryablehttp",
		"n.s.  Get200 semhttp-Do ns/op ≤ retryablehttp", // one retryablehttp sample
		"2.1µs vs 2.0µs (1.05×)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if failed != 4 {
		t.Errorf("failed = %d, want 4\n%s", failed, out)
	}
}

// With instruction counts of a workload, its wall-clock targets are
// shown, not judged.
func TestInstructionsDecide(t *testing.T) {
	res, _ := parseBench(strings.NewReader(sample + "BenchmarkGet200/client=raw\t2000\t60000 instructions/op\n" +
		"BenchmarkGet200/client=semhttp-Do\t2000\t61000 instructions/op\n"))
	var b strings.Builder
	report(&b, res, nil)
	out := b.String()
	for _, want := range []string{
		"info  Get200 semhttp-Do ns/op ≤ 1.10× raw",
		"PASS  Get200 semhttp-Do instructions/op ≤ 1.10× raw",
		"FAIL  Get200 semhttp-Do allocs/op ≤ raw+15", // allocations are still judged
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestUTestGreater(t *testing.T) {
	lo := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hi := []float64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if p := uTestGreater(hi, lo); p > 0.001 {
		t.Errorf("hi > lo: p = %v, want < 0.001", p)
	}
	if p := uTestGreater(lo, hi); p < 0.999 {
		t.Errorf("lo > hi: p = %v, want ≈ 1", p)
	}
	if p := uTestGreater(lo, lo); p < 0.4 || p > 0.6 {
		t.Errorf("same samples: p = %v, want ≈ 0.5", p)
	}
	same := []float64{5, 5, 5, 5}
	if p := uTestGreater(same, same); p != 1 {
		t.Errorf("all tied: p = %v, want 1", p)
	}
	if p := uTestGreater(nil, lo); p != 1 {
		t.Errorf("no samples: p = %v, want 1", p)
	}
}
