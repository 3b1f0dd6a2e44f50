package workload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"
)

// Runner performs one call of each workload through one client, the way
// that client's users write it, and checks the result (status, body size,
// Location), so the benchmarks and the smoke test run the same code. Every
// Runner is safe for concurrent use.
type Runner interface {
	// GetJSON GETs PathJSON and reads the body.
	GetJSON(base string) error
	// PostCreate POSTs RequestPayload to PathItems and reads the 201's
	// Location and body.
	PostCreate(base string) error
	// Download GETs size bytes from PathBlob and consumes them.
	Download(base string, size int64) error
	// Upload PUTs the file at path (size bytes, *os.File with a known
	// length) to PathUpload.
	Upload(base, path string, size int64) error
	// GetDoc GETs url, with If-None-Match: inm when inm is not empty, and
	// returns the status; a 200's body is read to the end.
	GetDoc(url, inm string) (int, error)
	// PollJob POSTs to PathJobs and polls the 202's monitor until it
	// answers 200.
	PollJob(base string) error
	// Close closes the client's idle connections.
	Close()
}

// Names of the runners, as they appear in benchmark names (client=NAME).
const (
	NameRaw           = "raw"
	NameRawPool64     = "raw-pool64"
	NameRetryable     = "retryablehttp"
	NameRetryablePool = "retryablehttp-pool64"
	NameResty         = "resty"
	NameRestyPool64   = "resty-pool64"
	NameRestyStream   = "resty-stream"
	NameRestyLen      = "resty-len"
	NameSemhttpSend   = "semhttp-Send"
	NameSemhttpDo     = "semhttp-Do"
	// NameSemhttpPoller is semhttp-Send whose PollJob uses semhttp's own
	// poller (Accepted.Wait) instead of the hand-written loop.
	NameSemhttpPoller = "semhttp-Poller"
)

// Client sets per workload, in the order benchstat shows them (raw first,
// so every column is compared with the floor). The timed benchmarks and
// cmd/instr use the same sets.
var (
	BasicClients = []string{
		NameRaw, NameRetryable, NameResty, NameSemhttpSend, NameSemhttpDo,
	}
	ParallelClients = []string{
		NameRaw, NameRawPool64, NameRetryable, NameRetryablePool,
		NameResty, NameRestyPool64, NameSemhttpSend, NameSemhttpDo,
	}
	DownloadClients = []string{
		NameRaw, NameRetryable, NameResty, NameRestyStream, NameSemhttpSend, NameSemhttpDo,
	}
	UploadClients = []string{
		NameRaw, NameRetryable, NameResty, NameSemhttpSend, NameSemhttpDo,
	}
)

// NewRunner returns the runner called name (see the Name constants).
func NewRunner(name string) (Runner, error) {
	switch name {
	case NameRaw:
		return &rawRunner{hc: Raw()}, nil
	case NameRawPool64:
		return &rawRunner{hc: RawPool64()}, nil
	case NameRetryable:
		return &retryableRunner{c: Retryable(nil)}, nil
	case NameRetryablePool:
		return &retryableRunner{c: Retryable(Pool64Transport())}, nil
	case NameResty:
		return &restyRunner{c: Resty(nil)}, nil
	case NameRestyPool64:
		return &restyRunner{c: Resty(Pool64Transport())}, nil
	case NameRestyStream:
		// resty's documented way to stream a large response: the raw body
		// is left unread for the caller.
		return &restyRunner{c: Resty(nil), stream: true}, nil
	case NameSemhttpSend:
		return &semSendRunner{c: Semhttp()}, nil
	case NameSemhttpDo:
		return &rawRunner{hc: Semhttp()}, nil
	case NameSemhttpPoller:
		return &semPollerRunner{semSendRunner{c: Semhttp()}}, nil
	}
	return nil, fmt.Errorf("workload: no runner %q", name)
}

func wantStatus(got, want int) error {
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}

// consume reads body to the end, closes it and checks its length.
func consume(body io.ReadCloser, want int64) error {
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if err != nil {
		return err
	}
	if want >= 0 && n != want {
		return fmt.Errorf("read %d body bytes, want %d", n, want)
	}
	return nil
}

func checkLocation(loc *url.URL, want string) error {
	if loc == nil || loc.Path != want || loc.Host == "" {
		return fmt.Errorf("location %v, want an absolute URL with path %s", loc, want)
	}
	return nil
}

// pause honours a 202's Retry-After in seconds, as a hand-written poll loop
// would; the server sends 0.
func pause(h http.Header) {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		time.Sleep(time.Duration(s) * time.Second)
	}
}

var errNotDone = errors.New("job not done after the expected polls")

// --- raw net/http -------------------------------------------------------

// rawRunner is the code of a raw net/http user. It also runs semhttp as a
// drop-in doer (semhttp-Do): the same code with semhttp.Client.Do in place
// of http.Client.Do.
type rawRunner struct{ hc doer }

// doer is what http.Client and semhttp.Client have in common.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

func (r *rawRunner) Close() { CloseIdle(r.hc) }

func (r *rawRunner) do(method, u string, body io.Reader, hdr string, val string) (*http.Response, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if hdr != "" {
		req.Header.Set(hdr, val)
	}
	return r.hc.Do(req)
}

func (r *rawRunner) GetJSON(base string) error {
	resp, err := r.do(http.MethodGet, base+PathJSON, nil, "", "")
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 200); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, int64(len(JSONPayload)))
}

func (r *rawRunner) PostCreate(base string) error {
	resp, err := r.do(http.MethodPost, base+PathItems, strings.NewReader(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := wantStatus(resp.StatusCode, 201); err != nil {
		return err
	}
	loc, err := resp.Location() // resolved against the request URL, as semhttp does
	if err != nil {
		return err
	}
	if err := checkLocation(loc, "/items/42"); err != nil {
		return err
	}
	return consume(resp.Body, int64(len(CreatedPayload)))
}

func (r *rawRunner) Download(base string, size int64) error {
	resp, err := r.do(http.MethodGet, base+PathBlob+"?size="+strconv.FormatInt(size, 10), nil, "", "")
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 200); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, size)
}

func (r *rawRunner) Upload(base, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	// The bare *os.File with its length: net/http sends it with sendfile.
	req, err := http.NewRequest(http.MethodPut, base+PathUpload, f)
	if err != nil {
		f.Close()
		return err
	}
	req.ContentLength = size
	resp, err := r.hc.Do(req) // closes f
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 201); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, -1)
}

func (r *rawRunner) GetDoc(u, inm string) (int, error) {
	hdr := ""
	if inm != "" {
		hdr = "If-None-Match"
	}
	resp, err := r.do(http.MethodGet, u, nil, hdr, inm)
	if err != nil {
		return 0, err
	}
	return docResult(resp.StatusCode, resp.Body)
}

// docResult checks a GetDoc answer: 200 with DocSize bytes or 304 with none.
func docResult(code int, body io.ReadCloser) (int, error) {
	switch code {
	case http.StatusOK:
		return code, consume(body, DocSize)
	case http.StatusNotModified:
		return code, consume(body, 0)
	}
	body.Close()
	return code, fmt.Errorf("status %d, want 200 or 304", code)
}

func (r *rawRunner) PollJob(base string) error {
	resp, err := r.do(http.MethodPost, base+PathJobs, strings.NewReader(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	return pollLoop(resp, func(u string) (*http.Response, error) { return r.do(http.MethodGet, u, nil, "", "") })
}

// pollLoop is the hand-written poll loop of a caller without a poller:
// the monitor is the first 202's Location; GET it, honouring Retry-After,
// until it answers 200.
func pollLoop(resp *http.Response, get func(string) (*http.Response, error)) error {
	var monitor string
	for i := 0; ; i++ {
		if resp.StatusCode == http.StatusOK {
			return consume(resp.Body, -1)
		}
		if err := wantStatus(resp.StatusCode, 202); err != nil {
			resp.Body.Close()
			return err
		}
		if i > JobPolls {
			resp.Body.Close()
			return errNotDone
		}
		if monitor == "" {
			loc, err := resp.Location()
			if err != nil {
				resp.Body.Close()
				return err
			}
			monitor = loc.String()
		}
		if err := consume(resp.Body, -1); err != nil {
			return err
		}
		pause(resp.Header)
		var err error
		if resp, err = get(monitor); err != nil {
			return err
		}
	}
}

// --- go-retryablehttp ---------------------------------------------------

type retryableRunner struct{ c *retryablehttp.Client }

func (r *retryableRunner) Close() { CloseIdle(r.c) }

func (r *retryableRunner) do(method, u string, body any, hdr, val string) (*http.Response, error) {
	req, err := retryablehttp.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if hdr != "" {
		req.Header.Set(hdr, val)
	}
	return r.c.Do(req)
}

func (r *retryableRunner) GetJSON(base string) error {
	resp, err := r.do(http.MethodGet, base+PathJSON, nil, "", "")
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 200); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, int64(len(JSONPayload)))
}

func (r *retryableRunner) PostCreate(base string) error {
	resp, err := r.do(http.MethodPost, base+PathItems, []byte(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := wantStatus(resp.StatusCode, 201); err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return err
	}
	if err := checkLocation(loc, "/items/42"); err != nil {
		return err
	}
	return consume(resp.Body, int64(len(CreatedPayload)))
}

func (r *retryableRunner) Download(base string, size int64) error {
	resp, err := r.do(http.MethodGet, base+PathBlob+"?size="+strconv.FormatInt(size, 10), nil, "", "")
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 200); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, size)
}

func (r *retryableRunner) Upload(base, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close() // retryablehttp hands the transport a NopCloser of f
	// *os.File is an io.ReadSeeker: retryablehttp rewinds it per attempt
	// instead of buffering it, but cannot know its length; the caller sets
	// it, as with raw net/http.
	req, err := retryablehttp.NewRequest(http.MethodPut, base+PathUpload, f)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := r.c.Do(req)
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode, 201); err != nil {
		resp.Body.Close()
		return err
	}
	return consume(resp.Body, -1)
}

func (r *retryableRunner) GetDoc(u, inm string) (int, error) {
	hdr := ""
	if inm != "" {
		hdr = "If-None-Match"
	}
	resp, err := r.do(http.MethodGet, u, nil, hdr, inm)
	if err != nil {
		return 0, err
	}
	return docResult(resp.StatusCode, resp.Body)
}

func (r *retryableRunner) PollJob(base string) error {
	resp, err := r.do(http.MethodPost, base+PathJobs, []byte(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	return pollLoop(resp, func(u string) (*http.Response, error) { return r.do(http.MethodGet, u, nil, "", "") })
}

// --- resty v2 -----------------------------------------------------------

type restyRunner struct {
	c      *resty.Client
	stream bool // Download: SetDoNotParseResponse and copy the raw body
}

func (r *restyRunner) Close() { CloseIdle(r.c) }

func (r *restyRunner) GetJSON(base string) error {
	resp, err := r.c.R().Get(base + PathJSON)
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode(), 200); err != nil {
		return err
	}
	if n := len(resp.Body()); n != len(JSONPayload) {
		return fmt.Errorf("read %d body bytes", n)
	}
	return nil
}

func (r *restyRunner) PostCreate(base string) error {
	resp, err := r.c.R().
		SetHeader("Content-Type", "application/json").
		SetBody(RequestPayload).
		Post(base + PathItems)
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode(), 201); err != nil {
		return err
	}
	loc, err := resp.RawResponse.Location()
	if err != nil {
		return err
	}
	if err := checkLocation(loc, "/items/42"); err != nil {
		return err
	}
	if n := len(resp.Body()); n != len(CreatedPayload) {
		return fmt.Errorf("read %d body bytes", n)
	}
	return nil
}

func (r *restyRunner) Download(base string, size int64) error {
	u := base + PathBlob + "?size=" + strconv.FormatInt(size, 10)
	if !r.stream {
		// resty's default: the whole body in memory.
		resp, err := r.c.R().Get(u)
		if err != nil {
			return err
		}
		if err := wantStatus(resp.StatusCode(), 200); err != nil {
			return err
		}
		if n := int64(len(resp.Body())); n != size {
			return fmt.Errorf("read %d body bytes, want %d", n, size)
		}
		return nil
	}
	resp, err := r.c.R().SetDoNotParseResponse(true).Get(u)
	if err != nil {
		return err
	}
	if err := wantStatus(resp.StatusCode(), 200); err != nil {
		resp.RawBody().Close()
		return err
	}
	return consume(resp.RawBody(), size)
}

func (r *restyRunner) Upload(base, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// resty v2.17 reads any io.Reader body into memory to give the request
	// a GetBody (middleware.go, getBodyCopy), and sends it chunked; no
	// setting streams a file, so this is resty's only way.
	resp, err := r.c.R().SetBody(f).Put(base + PathUpload)
	if err != nil {
		return err
	}
	return wantStatus(resp.StatusCode(), 201)
}

func (r *restyRunner) GetDoc(u, inm string) (int, error) {
	req := r.c.R()
	if inm != "" {
		req.SetHeader("If-None-Match", inm)
	}
	resp, err := req.Get(u)
	if err != nil {
		return 0, err
	}
	code := resp.StatusCode()
	want := DocSize
	switch code {
	case http.StatusOK:
	case http.StatusNotModified:
		want = 0
	default:
		return code, fmt.Errorf("status %d, want 200 or 304", code)
	}
	if n := len(resp.Body()); n != want {
		return code, fmt.Errorf("read %d body bytes, want %d", n, want)
	}
	return code, nil
}

func (r *restyRunner) PollJob(base string) error {
	resp, err := r.c.R().SetHeader("Content-Type", "application/json").SetBody(RequestPayload).Post(base + PathJobs)
	if err != nil {
		return err
	}
	var monitor string
	for i := 0; ; i++ {
		if resp.StatusCode() == http.StatusOK {
			return nil
		}
		if err := wantStatus(resp.StatusCode(), 202); err != nil {
			return err
		}
		if i > JobPolls {
			return errNotDone
		}
		if monitor == "" {
			loc, err := resp.RawResponse.Location()
			if err != nil {
				return err
			}
			monitor = loc.String()
		}
		pause(resp.Header())
		if resp, err = r.c.R().Get(monitor); err != nil {
			return err
		}
	}
}
