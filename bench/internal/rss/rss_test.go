package rss

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func TestVmHWM(t *testing.T) {
	kib, err := vmHWM()
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	if kib < 1024 {
		t.Errorf("VmHWM = %d KiB, implausibly small for a Go test binary", kib)
	}
}

// TestRun moves 1 MiB each way through each client the RSS programs use.
func TestRun(t *testing.T) {
	srv := workload.NewServer()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	path := filepath.Join(t.TempDir(), "up.bin")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	all := []string{workload.NameRaw, workload.NameRetryable, workload.NameResty,
		workload.NameRestyStream, workload.NameSemhttpSend, workload.NameSemhttpDo}
	for _, c := range all {
		for _, op := range []string{"download", "upload"} {
			if err := run(ts.URL, op, 1<<20, path, c, all); err != nil {
				t.Errorf("%s %s: %v", c, op, err)
			}
		}
	}
	if got := srv.UploadBytes.Load(); got != int64(len(all))<<20 {
		t.Errorf("server received %d bytes, want %d", got, len(all)<<20)
	}
	if err := run(ts.URL, "upload", 1<<20, path, workload.NameRaw, []string{workload.NameSemhttpDo}); err == nil {
		t.Error("run accepted a client the program does not link")
	}
}
