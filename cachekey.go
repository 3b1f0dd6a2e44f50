package semhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// cachekey.go names what the cache stores: the key of a request, the
// partition of its credentials, the variant its Vary fields select, and
// the header fields kept.

// cacheKey is the store key of a GET to u: "GET " and the absolute URL
// without userinfo or fragment. Relative URLs have none.
// keyOf returns the call's cache key, building it on first use.
func (cs *cacheCall) keyOf() string {
	if cs.key == "" {
		cs.key, _ = cacheKey(cs.orig.URL)
	}
	return cs.key
}

// partitionOf returns the partition of the call's request (requestPartition),
// built on first use.
func (cs *cacheCall) partitionOf() string {
	if !cs.parted {
		cs.partition, cs.parted = requestPartition(cs.orig, cs.creds), true
	}
	return cs.partition
}

// cacheableURL reports whether u can be a cache key (absolute, with a host).
func cacheableURL(u *url.URL) bool { return u != nil && u.Host != "" && u.Scheme != "" }

func cacheKey(u *url.URL) (string, bool) {
	s, ok := cacheURL(u)
	if !ok {
		return "", false
	}
	return "GET " + s, true
}

func cacheURL(u *url.URL) (string, bool) {
	if u == nil || u.Host == "" || u.Scheme == "" {
		return "", false
	}
	if u.User != nil || u.Fragment != "" || u.RawFragment != "" || u.Opaque != "" {
		cp := *u
		cp.User, cp.Fragment, cp.RawFragment = nil, "", ""
		return cp.String(), true
	}
	return u.String(), true
}

// requestPartition hashes the request's credentials — the headers in creds
// (Authorization, Cookie, Proxy-Authorization and those registered with
// WithCredentialHeaders) and URL userinfo — or returns "" when it has none.
func requestPartition(req *http.Request, creds []string) string {
	found := req.URL.User != nil
	for _, k := range creds {
		if len(req.Header[k]) > 0 {
			found = true
			break
		}
	}
	if !found {
		return ""
	}
	h := sha256.New()
	for _, k := range creds {
		io.WriteString(h, k)
		h.Write([]byte{0})
		for _, v := range req.Header[k] {
			io.WriteString(h, v)
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	if req.URL.User != nil {
		io.WriteString(h, req.URL.User.String())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// entryPartition is the partition part of an entry's Variant.
func entryPartition(e *Entry) string {
	p, _, _ := strings.Cut(e.Variant, "\n")
	return p
}

// cacheVariant builds an entry's Variant: the partition, then each field
// named by Vary with the request's normalized value ("\x00" when absent,
// so that an absent field only matches an absent field). The value is
// normalized as RFC 9111 §4.1 allows: list elements trimmed, empty ones
// dropped, field lines joined; and lower-cased for the fields whose
// values are case-insensitive (language tags, content-codings, charsets).
func cacheVariant(vary []string, h http.Header, partition string) string {
	if len(vary) == 0 {
		return partition + "\n"
	}
	var sb strings.Builder
	sb.WriteString(partition)
	for _, name := range vary {
		sb.WriteByte('\n')
		sb.WriteString(name)
		sb.WriteByte(':')
		vs := h[name]
		if len(vs) == 0 {
			sb.WriteByte(0)
			continue
		}
		first, fold := true, caseInsensitiveValues(name)
		for _, v := range vs {
			for elem := range strings.SplitSeq(v, ",") {
				elem = strings.Trim(elem, " \t")
				if elem == "" {
					continue
				}
				if !first {
					sb.WriteByte(',')
				}
				first = false
				if fold {
					elem = strings.ToLower(elem)
				}
				sb.WriteString(elem)
			}
		}
	}
	return sb.String()
}

// caseInsensitiveValues reports the request fields whose values compare
// case-insensitively, parameters included: language ranges (RFC 4647
// §2), content-codings (RFC 9110 §8.4.1) and charsets (§8.3.2), and "q".
func caseInsensitiveValues(name string) bool {
	switch name {
	case "Accept-Language", "Accept-Encoding", "Accept-Charset":
		return true
	}
	return false
}

// cacheVary returns the field names of h's Vary, canonical, sorted and
// without duplicates.
func cacheVary(h http.Header) []string {
	names, _ := cacheVaryStar(h)
	return names
}

// cacheVaryStar is cacheVary, and reports whether Vary holds "*" (or a
// name that is not a token).
func cacheVaryStar(h http.Header) ([]string, bool) {
	vs := h["Vary"]
	if len(vs) == 0 {
		return nil, false
	}
	var names []string
	star := false
	for _, v := range vs {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.Trim(name, " \t")
			switch {
			case name == "":
			case name == "*", !httpsyntax.IsToken(name):
				// A name that is not a token cannot be matched: the
				// response is treated as Vary: * and not stored.
				star = true
			default:
				name = textproto.CanonicalMIMEHeaderKey(name)
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names, star
}

// hasCallerConditional reports whether a request carries a precondition of
// its own.
func hasCallerConditional(h http.Header) bool {
	for _, k := range [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

// cacheLastModified returns h's Last-Modified when it is a valid HTTP-date.
func cacheLastModified(h http.Header) (string, bool) {
	vs := h["Last-Modified"]
	if len(vs) != 1 {
		return "", false
	}
	if _, err := http.ParseTime(vs[0]); err != nil {
		return "", false
	}
	return vs[0], true
}

// storedHeader copies h without the fields a cache does not store (RFC 9111
// §3.1): hop-by-hop fields and those Connection names, and those of
// noCache, the names no-cache="..." lists (§5.2.2.4: not to be sent from
// storage without revalidation).
func storedHeader(h http.Header, noCache map[string]bool) http.Header {
	skip := httpsyntax.ConnectionListed(h)
	out := make(http.Header, len(h))
	for k, vs := range h {
		if httpsyntax.HopByHop(k) || skip[k] || noCache[k] || k == CacheHeader {
			continue
		}
		out[k] = slices.Clone(vs)
	}
	return out
}
