package semhttp

import (
	"bytes"
	"io"
	"sync"
)

// cachebody.go holds the body tee through which the cache stores a
// response while the caller reads it (cacheStore in cache.go).

// cacheBody tees a response body into a buffer as the caller reads it and
// stores it when it was read completely: to io.EOF, with exactly
// Content-Length bytes when that was known. A body cut short, closed early,
// failing, or growing past the entry limit is not stored, and from then on
// only passes through.
type cacheBody struct {
	rc     io.ReadCloser
	max    int64
	want   int64 // Content-Length, or -1
	commit func([]byte)

	mu   sync.Mutex
	buf  []byte
	done bool // stored or given up
}

func (b *cacheBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	var body []byte
	b.mu.Lock()
	if !b.done {
		switch {
		case int64(len(b.buf)+n) > b.max:
			b.giveUp()
		default:
			b.buf = append(b.buf, p[:n]...)
			if err == io.EOF {
				body = b.complete()
			} else if err != nil {
				b.giveUp()
			}
		}
	}
	b.mu.Unlock()
	if body != nil {
		b.commit(body)
	}
	return n, err
}

// complete ends the tee and returns the body if it is whole, else nil.
func (b *cacheBody) complete() []byte {
	body := b.buf
	b.giveUp()
	if b.want >= 0 && int64(len(body)) != b.want {
		return nil
	}
	if body == nil {
		body = []byte{}
	}
	if c := cap(body); c-len(body) > len(body)/8 {
		body = bytes.Clone(body) // do not keep append's slack
	}
	return body
}

func (b *cacheBody) giveUp() { b.done, b.buf = true, nil }

// Close closes the body. Every byte of a body with a Content-Length may
// have been read without the caller seeing io.EOF; it is stored then.
func (b *cacheBody) Close() error {
	var body []byte
	b.mu.Lock()
	if !b.done {
		if b.want >= 0 && int64(len(b.buf)) == b.want {
			body = b.complete()
		} else {
			b.giveUp()
		}
	}
	b.mu.Unlock()
	if body != nil {
		b.commit(body)
	}
	return b.rc.Close()
}
