package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func TestCollected(t *testing.T) {
	report := "==4242== Events    : Ir\n==4242== Collected : 9709199\n==4242== \n==4242== I   refs:      9,709,199\n"
	if n, err := collected(report); err != nil || n != 9709199 {
		t.Fatalf("collected = %d, %v; want 9709199", n, err)
	}
	if _, err := collected("==1== Callgrind: threads.c:247 (vgCallgrind_post_signal): Assertion failed"); err == nil {
		t.Fatal("a report without a total was accepted")
	}
}

// TestRun makes each op's requests through each client against the
// benchmark server, as the child processes do.
func TestRun(t *testing.T) {
	srv := httptest.NewServer(workload.NewServer())
	defer srv.Close()
	file, err := uploadFile()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	for name, o := range ops {
		for _, c := range o.clients {
			if err := run(srv.URL, c, name, file, 1, 2); err != nil {
				t.Errorf("%s %s: %v", c, name, err)
			}
		}
	}
	if err := run(srv.URL, workload.NameRaw, "delete", "", 0, 1); err == nil {
		t.Error("an unknown op was accepted")
	}
	if err := run(srv.URL, workload.NameRaw, "upload", "", 0, 1); err == nil {
		t.Error("an upload without a file was accepted")
	}
}

// TestMeasure runs the -measure mode end to end with tiny counts, when
// valgrind is installed; this test binary is the child it runs (TestMain).
func TestMeasure(t *testing.T) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Skip("valgrind not installed")
	}
	if testing.Short() {
		t.Skip("runs valgrind: seconds")
	}
	srv := httptest.NewServer(workload.NewServer())
	defer srv.Close()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	m := measurer{addr: srv.URL, scale: 0.0025, parallel: 2} // get: 20 warm, 5 counted; upload: 1 and 1
	err = m.run(context.Background(), []string{"get", "upload"}, []string{workload.NameRaw, workload.NameSemhttpSend}, 1)
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	for _, c := range []string{"raw", "semhttp-Send"} {
		if !regexpMatch(`(?m)^BenchmarkGet200/client=`+c+`\t5\t\d+ instructions/op$`, string(b)) {
			t.Errorf("no Get200 sample for %s in:\n%s", c, b)
		}
		if !regexpMatch(`(?m)^BenchmarkUpload/client=`+c+`\t1\t\d+ instructions/MiB$`, string(b)) {
			t.Errorf("no Upload sample for %s in:\n%s", c, b)
		}
	}
}

// TestMain lets the test binary stand in for the program when -measure
// runs it under valgrind (the child's flags are the program's).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-addr" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
