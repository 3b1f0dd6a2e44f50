package semhttp

import (
	"net/http"
	"net/url"
	"time"
)

// This file parses the response header fields that outcomes expose:
// Link (RFC 8288), WWW-Authenticate (RFC 9110 §11.6.1), Allow (RFC 9110
// §10.2.1), Deprecation (RFC 9745) and Sunset (RFC 8594).

// Link is one link-value of a Link header (RFC 8288 §3).
type Link struct {
	// URL is the target as written (a URI reference, not yet resolved).
	URL *url.URL
	// Rel holds the relation types, lower-cased.
	Rel []string
	// Params holds the other parameters by lower-cased name.
	Params map[string]string
}

// HasRel reports whether l has the relation type rel (case-insensitive).
func (l Link) HasRel(rel string) bool {
	return false // TODO(header helper)
}

// ParseLinks parses every Link header value in h. Malformed link-values are
// skipped; the rest are kept.
func ParseLinks(h http.Header) []Link {
	return nil // TODO(header helper)
}

// Challenge is one authentication challenge of a WWW-Authenticate header.
type Challenge struct {
	Scheme  string
	Token68 string
	Params  map[string]string
}

// ParseChallenges parses WWW-Authenticate values into challenges.
func ParseChallenges(values []string) []Challenge {
	return nil // TODO(header helper)
}

// ParseAllow parses Allow header values into method names.
func ParseAllow(values []string) []string {
	return []string{} // TODO(header helper)
}

// APIStatus reports the API change signals of a response.
type APIStatus struct {
	Deprecated       bool
	DeprecatedAt     time.Time
	Sunset           time.Time
	DeprecationLinks []*url.URL
	SunsetLinks      []*url.URL
}

// ParseAPIStatus reads Deprecation, Sunset and their Link relations.
func ParseAPIStatus(h http.Header, base *url.URL) APIStatus {
	return APIStatus{} // TODO(header helper)
}
