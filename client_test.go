package semhttp

import (
	"net/http"
	"testing"
)

func TestSendHTTPBinGet(t *testing.T) {
	srv := newHTTPBin(t)
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/get", nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, ok := out.(*OK); !ok {
		t.Fatalf("got %T, want *OK", out)
	}
}
