package httpsyntax

// Link (RFC 8288) parsing. The parsers never fail: a malformed list
// element is skipped and the rest are kept, and the number of elements
// read is bounded, so a hostile header can neither panic them nor make
// them allocate without bound.

import (
	"net/http"
	"net/url"
	"strings"
)

// MaxLinks is the most link-values ParseLinks reads for one response,
// well-formed or not (so it returns at most as many links); later ones
// are ignored.
const MaxLinks = 256

// maxParams bounds the parameters kept per link-value or challenge; later
// ones are ignored.
const maxParams = 64

// Link is one link-value of a Link header (RFC 8288 §3).
type Link struct {
	// URL is the target as written (a URI reference, not yet resolved).
	// It is never nil in a Link returned by ParseLinks.
	URL *url.URL
	// Rel holds the relation types, lower-cased. It is empty when the
	// link-value had no rel parameter.
	Rel []string
	// Params holds the other parameters by lower-cased name (anchor, title,
	// type, hreflang, ...), quoted-string values unescaped. A parameter
	// without a value maps to "". When a name repeats, the first occurrence
	// wins (RFC 8288 §3.4.1). Extended parameters such as title* are kept
	// under their own name, undecoded.
	Params map[string]string
}

// HasRel reports whether l has the relation type rel (case-insensitive,
// RFC 8288 §2.1).
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rel {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// Param returns the value of the parameter name (case-insensitive), or ""
// when it is absent. Param("rel") returns the relation types joined by a
// space.
func (l Link) Param(name string) string {
	name = strings.ToLower(name)
	if name == "rel" {
		return strings.Join(l.Rel, " ")
	}
	return l.Params[name]
}

// ParseLinks parses every Link header value in h, in order. Several
// link-values may share a field line (comma-separated) and several field
// lines may be present. Malformed link-values are skipped; the rest are
// kept. Only the first MaxLinks link-values are read, malformed ones
// included, so a header of many malformed values costs no more than one
// of MaxLinks valid ones (empty list elements are skipped, uncounted). The
// result is nil when there is no valid link.
func ParseLinks(h http.Header) []Link {
	var links []Link
	read := 0 // link-values read, well-formed or not
	for _, v := range h.Values("Link") {
		links, read = parseLinkValue(links, read, v)
		if read >= MaxLinks {
			break
		}
	}
	return links
}

// parseLinkValue appends the link-values of one field line to links, up
// to MaxLinks link-values read in all; read counts them, well-formed or
// not.
func parseLinkValue(links []Link, read int, s string) ([]Link, int) {
	i := 0
	for i < len(s) && read < MaxLinks {
		i = SkipListSep(s, i)
		if i >= len(s) {
			break
		}
		read++
		l, next, ok := parseLink(s, i)
		if ok {
			links = append(links, l)
			i = next
			continue
		}
		if next < 0 { // no closing '>' or quote: nothing more can be parsed
			break
		}
		i = SkipElement(s, next)
	}
	return links, read
}

// parseLink parses one link-value starting at s[i]. On success it returns
// the index just after it (at a ',' or the end). On failure it returns
// ok=false and the index to resume scanning from for the next ',' (or -1
// when the rest of s cannot hold a link-value).
func parseLink(s string, i int) (l Link, next int, ok bool) {
	if s[i] != '<' {
		return Link{}, i, false
	}
	end := strings.IndexByte(s[i+1:], '>')
	if end < 0 {
		return Link{}, -1, false
	}
	target := strings.Trim(s[i+1:i+1+end], " \t")
	i += end + 2
	u, err := url.Parse(target)
	if err != nil {
		return Link{}, i, false
	}
	u.RawQuery = EncodeQuery(u.RawQuery) // as for Location
	l = Link{URL: u}
	relSeen := false
	nparams := 0
	for {
		i = SkipOWS(s, i)
		if i >= len(s) || s[i] == ',' {
			return l, i, true
		}
		if s[i] != ';' {
			return Link{}, i, false
		}
		i = SkipOWS(s, i+1)
		if i >= len(s) || s[i] == ',' || s[i] == ';' {
			continue // empty parameter, e.g. a trailing ';'
		}
		name, j := ReadToken(s, i)
		if name == "" {
			return Link{}, i, false
		}
		i = SkipOWS(s, j)
		nparams++
		keep := nparams <= maxParams // later ones are parsed, not kept
		value := ""
		if i < len(s) && s[i] == '=' {
			i = SkipOWS(s, i+1)
			var vok bool
			value, i, vok = readParamValue(s, i, keep)
			if !vok {
				return Link{}, i, false
			}
		}
		if !keep {
			continue
		}
		name = strings.ToLower(name)
		switch {
		case name == "rel":
			if !relSeen { // RFC 8288 §3.3: later rel parameters are ignored
				relSeen = true
				l.Rel = splitRel(value)
			}
		default:
			if l.Params == nil {
				l.Params = make(map[string]string)
			}
			if _, dup := l.Params[name]; !dup {
				l.Params[name] = value
			}
		}
	}
}

// readParamValue reads a parameter value at s[i]: a quoted-string
// (unescaped) or, leniently as RFC 8288 Appendix B.3 does, everything up to
// the next ';' or ',' with trailing whitespace removed. On failure (an
// unterminated quoted-string) it returns ok=false and -1. Unless keep, it
// only finds where the value ends, and returns "" without allocating.
func readParamValue(s string, i int, keep bool) (value string, next int, ok bool) {
	if i < len(s) && s[i] == '"' {
		if !keep {
			j := skipQuoted(s, i)
			return "", j, j >= 0
		}
		v, j, ok := ReadQuoted(s, i)
		if !ok {
			return "", -1, false
		}
		return v, j, true
	}
	j := i
	for j < len(s) && s[j] != ';' && s[j] != ',' {
		if s[j] == '"' { // a quote inside an unquoted value
			return "", j, false
		}
		j++
	}
	return strings.TrimRight(s[i:j], " \t"), j, true
}

// splitRel splits a rel value into lower-cased relation types.
func splitRel(v string) []string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return nil
	}
	for k := range f {
		f[k] = strings.ToLower(f[k])
	}
	return f
}
