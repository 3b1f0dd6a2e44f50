package httpsyntax

import "strings"

// maxChallenges bounds the challenges ParseChallenges returns; later ones
// are ignored.
const maxChallenges = 64

// Challenge is one authentication challenge (RFC 9110 §11.3). semhttp's
// public Challenge has the same fields.
type Challenge struct {
	Scheme  string
	Token68 string
	Params  map[string]string
}

// ParseChallenges parses WWW-Authenticate (or Proxy-Authenticate) field
// values into challenges, in order. The header is a comma-separated list in
// which a comma separates both challenges and the auth-params of one
// challenge; a new challenge starts at a token that is not followed by
// "=". Field lines are treated as if joined by commas, so auth-params on a
// line of their own belong to the challenge before them. Parts that cannot
// be parsed are skipped: an auth-param that is not name=value is dropped
// (the challenge is kept), a scheme followed by anything but a space or a
// comma is dropped. At most 64 challenges are returned, each with at most
// 64 parameters. The result is nil when there is no challenge.
func ParseChallenges(values []string) []Challenge {
	p := challengeParser{cur: -1}
	for _, v := range values {
		if !p.line(v) {
			break
		}
	}
	return p.out
}

// challengeParser holds the state carried across field lines.
type challengeParser struct {
	out []Challenge
	cur int // index in out of the challenge taking auth-params; -1 for none
}

// line parses one field line. It returns false when the challenge bound is
// reached.
func (p *challengeParser) line(s string) bool {
	i := 0
	for {
		i = SkipListSep(s, i)
		if i >= len(s) {
			return true
		}
		tok, j := ReadToken(s, i)
		if tok == "" {
			i = SkipElement(s, i)
			continue
		}
		if k := SkipOWS(s, j); k < len(s) && s[k] == '=' {
			// An auth-param of the current challenge.
			i = p.param(s, tok, k+1)
			if i < 0 {
				return true
			}
			continue
		}
		// A new auth-scheme.
		if len(p.out) == maxChallenges {
			return false
		}
		if j < len(s) && s[j] != ',' && s[j] != ' ' && s[j] != '\t' {
			p.cur = -1 // e.g. `Basic"x"`: not a challenge
			i = SkipElement(s, j)
			continue
		}
		p.out = append(p.out, Challenge{Scheme: tok})
		p.cur = len(p.out) - 1
		i = SkipOWS(s, j)
		if i >= len(s) || s[i] == ',' {
			continue
		}
		if t68, next, ok := readToken68(s, i); ok {
			p.out[p.cur].Token68 = t68
			p.cur = -1 // token68 and auth-params do not mix
			i = next
			continue
		}
		name, k := ReadToken(s, i)
		if k = SkipOWS(s, k); name == "" || k >= len(s) || s[k] != '=' {
			i = SkipElement(s, i)
			continue
		}
		i = p.param(s, name, k+1)
		if i < 0 {
			return true
		}
	}
}

// param reads the value of the auth-param name, whose '=' ends just before
// s[i], and adds it to the current challenge. It returns the index to go
// on from, or -1 when the rest of the line cannot be parsed.
func (p *challengeParser) param(s, name string, i int) int {
	i = SkipOWS(s, i)
	var value string
	if i < len(s) && s[i] == '"' {
		v, next, ok := ReadQuoted(s, i)
		if !ok {
			return -1
		}
		value, i = v, next
	} else {
		// A token by the grammar; leniently, any run of visible characters
		// other than ',' and '"' (e.g. scope=read:user).
		j := i
		for j < len(s) && s[j] > ' ' && s[j] != ',' && s[j] != '"' && s[j] != 0x7f {
			j++
		}
		if j == i {
			return SkipElement(s, i)
		}
		value, i = s[i:j], j
	}
	if i = SkipOWS(s, i); i < len(s) && s[i] != ',' {
		return SkipElement(s, i)
	}
	if p.cur < 0 {
		return i
	}
	c := &p.out[p.cur]
	if c.Params == nil {
		c.Params = make(map[string]string)
	}
	name = strings.ToLower(name)
	if _, dup := c.Params[name]; !dup && len(c.Params) < maxParams {
		c.Params[name] = value
	}
	return i
}

// readToken68 reads a token68 (RFC 9110 §11.2) at s[i] that makes up the
// rest of the list element: it must be followed by OWS and then ',' or the
// end. Otherwise ok is false (it is an auth-param or junk).
func readToken68(s string, i int) (t68 string, next int, ok bool) {
	j := i
	for j < len(s) && IsToken68Char(s[j]) {
		j++
	}
	if j == i {
		return "", i, false
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	k := SkipOWS(s, j)
	if k < len(s) && s[k] != ',' {
		return "", i, false
	}
	return s[i:j], k, true
}

func IsToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}
