package bench

import (
	"net/http"
	"testing"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

// allClients is every runner the benchmarks use.
var allClients = []string{
	workload.NameRaw, workload.NameRawPool64,
	workload.NameRetryable, workload.NameRetryablePool,
	workload.NameResty, workload.NameRestyPool64, workload.NameRestyStream,
	workload.NameSemhttpSend, workload.NameSemhttpDo, workload.NameSemhttpPoller,
}

// TestWorkloads runs each workload once through each client against the
// benchmark server (small sizes), so a broken server/client pair fails
// here instead of in a long benchmark run.
func TestWorkloads(t *testing.T) {
	srv, base := startServer(t)
	const size = 3<<20 + 17 // not a multiple of the server's 1 MiB chunk
	path := makeFile(t, size)
	for _, name := range allClients {
		t.Run(name, func(t *testing.T) {
			r, err := workload.NewRunner(name)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			check := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			check("GetJSON", r.GetJSON(base))
			check("PostCreate", r.PostCreate(base))
			check("Download", r.Download(base, size))

			up := srv.stats(t).UploadBytes
			check("Upload", r.Upload(base, path, size))
			if got := srv.stats(t).UploadBytes - up; got != size {
				t.Errorf("Upload: server got %d bytes, want %d", got, size)
			}

			body := srv.stats(t).DocBodyBytes
			code, err := r.GetDoc(base+workload.PathNoValid, "")
			check("GetDoc full", wantCode(code, err)(http.StatusOK))
			code, err = r.GetDoc(base+workload.PathETag, workload.DocETag)
			check("GetDoc 304", wantCode(code, err)(http.StatusNotModified))
			if got := srv.stats(t).DocBodyBytes - body; got != workload.DocSize {
				t.Errorf("GetDoc: server wrote %d body bytes for a 200 and a 304, want %d", got, workload.DocSize)
			}

			check("PollJob", r.PollJob(base))
			if n := srv.stats(t).JobsPending; n != 0 {
				t.Errorf("PollJob: %d jobs left unfinished", n)
			}
		})
	}
}

// TestUnknownRunner checks that a misspelt client name is an error.
func TestUnknownRunner(t *testing.T) {
	if _, err := workload.NewRunner("curl"); err == nil {
		t.Fatal("NewRunner(curl) succeeded")
	}
}

// TestStats checks that workload.PathStats serves what the counters hold,
// as an external server (BENCH_SERVER) is read.
func TestStats(t *testing.T) {
	local, base := startServer(t)
	if local.local == nil {
		t.Skip("BENCH_SERVER is set: TestWorkloads reads its counters already")
	}
	remote := &server{base: base, client: &http.Client{}}
	defer remote.client.CloseIdleConnections()
	r, err := workload.NewRunner(workload.NameRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.GetDoc(base+workload.PathNoValid, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetDoc(base+workload.PathETag, workload.DocETag); err != nil {
		t.Fatal(err)
	}
	got, err := remote.fetch()
	if err != nil {
		t.Fatal(err)
	}
	want := workload.Stats{DocBodyBytes: workload.DocSize, Conditional: 1}
	if got != want || local.stats(t) != want {
		t.Fatalf("GET %s: %+v, counters %+v, want %+v", workload.PathStats, got, local.stats(t), want)
	}
}
