package semhttp

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// jsonobject.go reads the JSON of status documents and 202 bodies: objects
// whose member names match whatever their case or punctuation
// ("provisioningState", "provisioning_state"), and strings.

// jsonObject is a JSON object with case- and punctuation-insensitive
// member lookup: its members, each normalized name once. Status documents
// have a handful of members, read a few dozen times: a scan of a short
// slice costs less than hashing every name looked up.
type jsonObject []jsonMember

type jsonMember struct {
	name string // normalized
	raw  json.RawMessage
}

// parseObject parses body as a JSON object; nil when it is not one. Member
// names are normalized; when two normalize alike the first in sorted order
// of the original names wins, so lookups are deterministic. Of a name
// given twice, the last value counts (as encoding/json decodes it). The
// values alias body.
//
// A status document is parsed on every poll, so this is a splitter over a
// body that json.Valid has accepted, not a decode into a map through
// reflection (a third of the cost; FuzzParseObject holds the two equal).
func parseObject(body []byte) jsonObject {
	b := bytes.TrimLeft(body, jsonSpace)
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return nil // not an object: spare the validator where a byte says so
	}
	o := make(jsonObject, 0, 4)
	plain := true // every name normalized, none twice
	for i := skipSpace(b, 1); b[i] != '}'; {
		kEnd := stringEnd(b, i)
		name, _ := jsonString(b[i:kEnd])
		i = skipSpace(b, skipSpace(b, kEnd)+1) // past ':'
		vEnd := valueEnd(b, i)
		if plain && (!isNormalized(name) || len(o) >= 16 || o.has(name)) {
			plain = false
		}
		o = append(o, jsonMember{name, b[i:vEnd:vEnd]})
		if i = skipSpace(b, vEnd); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if plain {
		return o
	}
	// The general case: the last value of a name given twice; of names
	// that normalize alike, the first in sorted order.
	last := make(map[string]json.RawMessage, len(o))
	for _, m := range o {
		last[m.name] = m.raw
	}
	names := slices.Sorted(maps.Keys(last))
	o = o[:0]
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if norm := normalize(n); !seen[norm] {
			seen[norm] = true
			o = append(o, jsonMember{norm, last[n]})
		}
	}
	return o
}

// jsonSpace is JSON's white space.
const jsonSpace = " \t\r\n"

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i] in a
// valid document.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return len(b)
}

// jsonString decodes raw when it is a JSON string. One without escapes,
// control characters or invalid UTF-8 (nearly every status word and link)
// is sliced out as it is, which is what the decoder would return; a word
// of the vocabularies the interpreter knows comes without an allocation.
func jsonString(raw json.RawMessage) (string, bool) {
	i, j := skipSpace(raw, 0), len(raw)
	for j > i && (raw[j-1] == ' ' || raw[j-1] == '\t' || raw[j-1] == '\r' || raw[j-1] == '\n') {
		j--
	}
	raw = raw[i:j]
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if in := raw[1 : len(raw)-1]; raw[len(raw)-1] == '"' && plainJSONString(in) {
		if w, ok := knownWords[string(in)]; ok {
			return w, true
		}
		return string(in), true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// knownWords holds the member names and status words the interpreter
// reads, as they are commonly spelled, so that reading them allocates
// nothing. It is built once and never written.
var knownWords = func() map[string]string {
	m := map[string]string{}
	add := func(w string) { m[w] = w }
	for _, names := range [][]string{statusNames, percentNames, finalNames} {
		for _, n := range names {
			add(n)
		}
	}
	for _, w := range []string{"id", "name", "done", "error", "response", "metadata", "properties", "data",
		"attributes", "links", "_links", "href", "code", "message", "details", "target", "type", "title", "detail",
		"percentComplete", "provisioningState", "resourceLocation", "createdDateTime", "lastActionDateTime",
		"startTime", "endTime", "Running", "Succeeded", "Failed", "Canceled", "NotStarted", "InProgress",
		"Creating", "Updating", "Deleting", "Accepted", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "DONE"} {
		add(w)
	}
	for _, words := range []map[string]bool{runningWords, succeededWords, failedWords, canceledWords} {
		for w := range words {
			add(w)
		}
	}
	return m
}()

// plainJSONString reports whether b, between a JSON string's quotes, has
// nothing the decoder would change or refuse.
func plainJSONString(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.Valid(b)
}

func (o jsonObject) get(normName string) (json.RawMessage, bool) {
	for i := range o {
		if o[i].name == normName {
			return o[i].raw, true
		}
	}
	return nil, false
}

func (o jsonObject) has(normName string) bool {
	_, ok := o.get(normName)
	return ok
}

func (o jsonObject) object(normName string) jsonObject {
	raw, ok := o.get(normName)
	if !ok {
		return nil
	}
	return parseObject(raw)
}

func (o jsonObject) stringMember(normName string) (string, bool) {
	raw, ok := o.get(normName)
	if !ok {
		return "", false
	}
	s, ok := jsonString(raw)
	if !ok || strings.TrimSpace(s) == "" {
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// normalize lower-cases s and drops '_', '-', '.' and spaces.
func normalize(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == ' ' || c == '.':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isNormalized(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '_' || c == '-' || c == ' ' || c == '.' || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// prefixMembers returns, as a small JSON object, the top-level members of
// a document longer than maxStatusBody that the interpreter reads (a
// status, done, error, a percent, a link, name, properties or metadata, up
// to 64 KiB each), as far as prefix, its first bytes, holds them whole;
// nil when prefix does not open an object.
func prefixMembers(prefix []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	out := []byte{'{'}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			break // the prefix ends inside this member
		}
		if !prefixMember(normalize(name)) || len(raw) > 64<<10 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		quoted, _ := json.Marshal(name)
		out = append(append(append(out, quoted...), ':'), raw...)
	}
	return append(out, '}')
}

func prefixMember(n string) bool {
	switch n {
	case "done", "error", "name", "properties", "metadata", "data":
		return true
	}
	_, s := statusRank[n]
	_, p := percentRank[n]
	_, f := finalRank[n]
	return s || p || f
}
