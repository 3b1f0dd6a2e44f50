package semhttp

// range.go owns partial content: Range request helpers, Content-Range
// parsing, 206 and multipart/byteranges, 416, resumable downloads and
// range-unit paging.

// ContentRange is a parsed Content-Range header (RFC 9110 §14.4).
type ContentRange struct {
	Unit  string
	First int64
	Last  int64
	// Complete is the complete length, or -1 when the server sent "*".
	Complete int64
}

// PartialContent is a 206.
type PartialContent struct {
	base
	ContentRange    ContentRange
	ContentRangeErr error
}

func newPartialContent(b base) *PartialContent {
	return &PartialContent{base: b} // TODO(range helper)
}

// unsatisfiedLength returns N from "bytes */N", or -1.
func unsatisfiedLength(s string) int64 {
	return -1 // TODO(range helper)
}
