package semhttp

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"sync/atomic"
)

// body.go replays request bodies without buffering them: through
// GetBody, by seeking (an *os.File keeps sendfile), or not at all for a
// plain io.Reader, which is sent once.

// bodySource replays a request body for each attempt without buffering it.
type bodySource struct {
	getBody func() (io.ReadCloser, error) // from req.GetBody
	seeker  io.ReadSeeker                 // a seekable body
	offset  int64                         // where the seeker started
	at      io.ReaderAt                   // the seeker, when it can also read at an offset
	size    int64                         // bytes from offset (for at), or -1 when unknown
	closer  io.Closer                     // the caller's body, closed when the call ends
	read    *atomic.Bool                  // set when a non-replayable body was read
}

// present reports whether the source stands for a body at all.
func (b *bodySource) present() bool { return b.getBody != nil || b.seeker != nil || b.read != nil }

func (b *bodySource) replayable() bool { return b.getBody != nil || b.seeker != nil }

// touched reports whether a non-replayable body has been read.
func (b *bodySource) touched() bool { return b.read != nil && b.read.Load() }

// close closes the caller's body if the transport could not (seekable
// bodies are sent behind a NopCloser so they survive for the next attempt).
func (b *bodySource) close() {
	if b.closer != nil {
		b.closer.Close()
		b.closer = nil
	}
}

// prepareBody makes req's body replayable where it can be and returns the
// request to send (a shallow copy when the body had to be wrapped).
func prepareBody(req *http.Request) (*http.Request, bodySource) {
	var src bodySource
	if req.Body == nil || req.Body == http.NoBody {
		return req, src
	}
	if req.GetBody != nil {
		src.getBody = req.GetBody
		return req, src
	}
	r2 := new(http.Request)
	*r2 = *req
	if s, ok := req.Body.(io.ReadSeeker); ok {
		if off, err := s.Seek(0, io.SeekCurrent); err == nil {
			src.seeker, src.offset, src.closer = s, off, req.Body
			if r2.ContentLength == 0 {
				r2.ContentLength = regularFileRemaining(req.Body, off)
			}
			src.size = -1
			if r2.ContentLength > 0 {
				src.size = r2.ContentLength
			}
			src.at, _ = s.(io.ReaderAt)
			r2.Body = firstAttemptBody(s)
			return r2, src
		}
	}
	src.read, src.closer = new(atomic.Bool), req.Body
	r2.Body = &trackingBody{r: req.Body, read: src.read}
	return r2, src
}

// regularFileRemaining returns the bytes left in a regular file after off,
// or 0 (unknown) for anything else.
func regularFileRemaining(body io.Reader, off int64) int64 {
	st, ok := body.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return 0
	}
	fi, err := st.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() <= off {
		return 0
	}
	return fi.Size() - off
}

// rewind gives req a fresh body for another attempt.
func (b *bodySource) rewind(req *http.Request) error {
	switch {
	case b.getBody != nil:
		body, err := b.getBody()
		if err != nil {
			return fmt.Errorf("semhttp: GetBody: %w", err)
		}
		req.Body = body
	case b.at != nil:
		// Reading at offsets leaves the shared file offset alone, so a
		// previous attempt whose body the transport is still sending (a
		// server that answered before reading it all) cannot disturb this one.
		n := b.size
		if n < 0 {
			n = math.MaxInt64 - b.offset
		}
		req.Body = io.NopCloser(io.NewSectionReader(b.at, b.offset, n))
	case b.seeker != nil:
		if _, err := b.seeker.Seek(b.offset, io.SeekStart); err != nil {
			return fmt.Errorf("semhttp: rewinding body: %w", err)
		}
		req.Body = io.NopCloser(b.seeker)
	}
	return nil
}

// firstAttemptBody is the body the first attempt hands the transport. The
// transport closes it, and the caller's body must outlive that for another
// attempt. An *os.File is handed over as a duplicate descriptor on Linux,
// so that net/http still sees a file and sends it with sendfile (it does
// not see through a NopCloser inside its own wrapper); anything else goes
// behind a NopCloser.
func firstAttemptBody(s io.ReadSeeker) io.ReadCloser {
	if f, ok := s.(*os.File); ok {
		if d, err := dupFile(f); err == nil {
			return d
		}
	}
	return io.NopCloser(s)
}

// trackingBody records that a non-replayable body was read. Its Close is a
// no-op: the transport closes bodies even when a dial failed and nothing
// was read, and the body must survive for that retry; bodySource.close
// closes the caller's body when the call ends.
type trackingBody struct {
	r    io.Reader
	read *atomic.Bool
}

func (t *trackingBody) Read(p []byte) (int, error) {
	t.read.Store(true)
	return t.r.Read(p)
}

func (t *trackingBody) Close() error { return nil }

// drainLimit bounds how much of a body the client reads only to reuse its
// connection (a redirect's, a poll's, a refused 304's); a longer body
// closes the connection instead.
const drainLimit = 64 << 10

// drainClose reads what is left of body, up to drainLimit bytes, so that
// its connection can be reused, and closes it. It is the one drain.
func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}
