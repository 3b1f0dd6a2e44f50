package redisstore

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/semhttp/semhttp"
)

// codec.go is the encoding of an Entry in a Redis value: a version byte,
// then the key it was stored under and the Entry's fields, strings and
// the body prefixed by their length (uvarint), numbers as varints:
//
//	version=1 key Variant URL StatusCode Stored(sec, nsec) Age Lifetime
//	header(fields+1, values, {name, count, values...}...) body(len+1, bytes)
//
// A header or body of length n is written as n+1, 0 standing for nil.
// The decoder checks every length against what is left, so garbage is
// rejected with an error, never a panic or a huge allocation.

const codecVersion = 1

var errCorrupt = errors.New("redisstore: corrupt entry")

// encodedLen is the exact length of encode(key, e).
func encodedLen(key string, e *semhttp.Entry) int {
	n := 1 + strLen(key) + strLen(e.Variant) + strLen(e.URL) +
		uvarintLen(uint64(e.StatusCode)) +
		varintLen(e.Stored.Unix()) + uvarintLen(uint64(e.Stored.Nanosecond())) +
		varintLen(int64(e.Age)) + varintLen(int64(e.Lifetime))
	if e.Header == nil {
		n++
	} else {
		values := 0
		for k, vs := range e.Header {
			n += strLen(k) + uvarintLen(uint64(len(vs)))
			for _, v := range vs {
				n += strLen(v)
			}
			values += len(vs)
		}
		n += uvarintLen(uint64(len(e.Header))+1) + uvarintLen(uint64(values))
	}
	if e.Body == nil {
		n++
	} else {
		n += uvarintLen(uint64(len(e.Body))+1) + len(e.Body)
	}
	return n
}

// encode appends the encoding of e, stored under key, to b.
func encode(b []byte, key string, e *semhttp.Entry) []byte {
	b = append(b, codecVersion)
	b = appendString(b, key)
	b = appendString(b, e.Variant)
	b = appendString(b, e.URL)
	b = binary.AppendUvarint(b, uint64(e.StatusCode))
	b = binary.AppendVarint(b, e.Stored.Unix())
	b = binary.AppendUvarint(b, uint64(e.Stored.Nanosecond()))
	b = binary.AppendVarint(b, int64(e.Age))
	b = binary.AppendVarint(b, int64(e.Lifetime))
	if e.Header == nil {
		b = append(b, 0)
	} else {
		values := 0
		for _, vs := range e.Header {
			values += len(vs)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Header))+1)
		b = binary.AppendUvarint(b, uint64(values))
		for k, vs := range e.Header {
			b = appendString(b, k)
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = appendString(b, v)
			}
		}
	}
	if e.Body == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(e.Body))+1)
		b = append(b, e.Body...)
	}
	return b
}

// decode returns the Entry s encodes and the key it was stored under. The
// strings of the Entry share s's memory; its Body is a copy.
func decode(s string) (*semhttp.Entry, string, error) {
	d := decoder{s: s}
	if d.byte() != codecVersion {
		return nil, "", errCorrupt
	}
	key := d.string()
	e := &semhttp.Entry{Variant: d.string(), URL: d.string()}
	if code := d.uvarint(); code <= 999 {
		e.StatusCode = int(code)
	} else {
		d.fail()
	}
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail()
	}
	e.Stored = time.Unix(sec, int64(nsec))
	e.Age, e.Lifetime = time.Duration(d.varint()), time.Duration(d.varint())
	if fields := d.count(); fields > 0 {
		fields--
		// Every field takes 2 bytes at least, every value 1: the counts
		// are checked against what is left before anything is allocated.
		values := d.count()
		if fields > d.left()/2 || values > d.left() {
			return nil, "", errCorrupt
		}
		h := make(http.Header, fields)
		all := make([]string, values) // one array for every value
		for range fields {
			name, n := d.string(), d.count()
			if n > len(all) || d.err {
				return nil, "", errCorrupt
			}
			vs := all[:n:n]
			all = all[n:]
			for i := range vs {
				vs[i] = d.string()
			}
			if _, dup := h[name]; dup {
				d.fail()
			}
			h[name] = vs
		}
		if len(all) != 0 {
			d.fail()
		}
		e.Header = h
	}
	if n := d.count(); n > 0 {
		n--
		if n > d.left() {
			return nil, "", errCorrupt
		}
		e.Body = []byte(d.s[d.i : d.i+n])
		d.i += n
	}
	if d.err || d.i != len(d.s) {
		return nil, "", errCorrupt
	}
	return e, key, nil
}

// decoder reads s from i; on a malformed input it sets err and every read
// after returns zero values.
type decoder struct {
	s   string
	i   int
	err bool
}

func (d *decoder) fail()     { d.err, d.i = true, len(d.s) }
func (d *decoder) left() int { return len(d.s) - d.i }

func (d *decoder) byte() byte {
	if d.i >= len(d.s) {
		d.fail()
		return 0
	}
	d.i++
	return d.s[d.i-1]
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := d.byte()
		if d.err {
			return 0
		}
		if shift == 63 && c > 1 {
			break // overflow
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	d.fail()
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// count reads a length, at most what is left of s.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(d.left())+1 {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if n > d.left() {
		d.fail()
		return ""
	}
	d.i += n
	return d.s[d.i-n : d.i]
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func varintLen(x int64) int {
	u := uint64(x) << 1
	if x < 0 {
		u = ^u
	}
	return uvarintLen(u)
}
