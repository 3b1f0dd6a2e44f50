package semhttp

import (
	"encoding/json"
	"net/url"
)

// problem.go reads RFC 9457 problem details.

// Problem is an RFC 9457 problem details document
// (application/problem+json). Members of the wrong JSON type are ignored, as
// §3.1 requires; unknown members are kept in Extensions.
type Problem struct {
	// Type identifies the problem type: a URI resolved against the
	// request URL; "about:blank" when absent.
	Type string
	// Title is a short, human-readable summary of the problem type.
	Title string
	// Status is the status code the server put in the document. It is
	// advisory: the response's own status code wins.
	Status int
	// Detail explains this occurrence. Do not parse it.
	Detail string
	// Instance identifies this occurrence (resolved like Type); empty when
	// absent.
	Instance string
	// Extensions holds the other members, undecoded.
	Extensions map[string]json.RawMessage
}

// ParseProblem parses a problem details document. base, when not nil,
// resolves relative type and instance references. It returns nil when body
// is not a JSON object.
func ParseProblem(body []byte, base *url.URL) *Problem {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil
	}
	p := &Problem{Type: "about:blank"}
	for name, raw := range members {
		switch name {
		case "type":
			// An empty type is treated as absent (about:blank), not as a
			// reference to the document itself.
			var s string
			if json.Unmarshal(raw, &s) == nil && s != "" {
				p.Type = resolveString(base, s)
			}
		case "title":
			_ = json.Unmarshal(raw, &p.Title)
		case "status":
			var f float64
			if json.Unmarshal(raw, &f) == nil && f == float64(int(f)) && f >= 0 && f <= 999 {
				p.Status = int(f)
			}
		case "detail":
			_ = json.Unmarshal(raw, &p.Detail)
		case "instance":
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p.Instance = resolveString(base, s)
			}
		default:
			if p.Extensions == nil {
				p.Extensions = make(map[string]json.RawMessage)
			}
			p.Extensions[name] = raw
		}
	}
	return p
}

// Extension decodes the extension member name into v. It reports whether
// the member was present and decoded.
func (p *Problem) Extension(name string, v any) bool {
	raw, ok := p.Extensions[name]
	return ok && json.Unmarshal(raw, v) == nil
}

func resolveString(base *url.URL, ref string) string {
	if base == nil || ref == "" {
		return ref
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(u).String()
}
