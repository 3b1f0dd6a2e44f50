package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

// allClients is every runner the benchmarks use.
var allClients = []string{
	workload.NameRaw, workload.NameRawPool64,
	workload.NameRetryable, workload.NameRetryablePool,
	workload.NameResty, workload.NameRestyPool64, workload.NameRestyStream,
	workload.NameSemhttpSend, workload.NameSemhttpDo,
}

// TestWorkloads runs each workload once through each client against the
// benchmark server (small sizes), so a broken server/client pair fails
// here instead of in a long benchmark run.
func TestWorkloads(t *testing.T) {
	srv := workload.NewServer()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL
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

			up := srv.UploadBytes.Load()
			check("Upload", r.Upload(base, path, size))
			if got := srv.UploadBytes.Load() - up; got != size {
				t.Errorf("Upload: server got %d bytes, want %d", got, size)
			}

			body := srv.DocBodyBytes.Load()
			code, err := r.GetDoc(base+workload.PathNoValid, "")
			check("GetDoc full", wantCode(code, err)(http.StatusOK))
			code, err = r.GetDoc(base+workload.PathETag, workload.DocETag)
			check("GetDoc 304", wantCode(code, err)(http.StatusNotModified))
			if got := srv.DocBodyBytes.Load() - body; got != workload.DocSize {
				t.Errorf("GetDoc: server wrote %d body bytes for a 200 and a 304, want %d", got, workload.DocSize)
			}

			check("PollJob", r.PollJob(base))
			if n := srv.JobsPending(); n != 0 {
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
