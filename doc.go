// Package semhttp is an HTTP client that tells its caller what a response
// means.
//
// [Client.Send] returns a typed [Outcome] — *Created with the new
// resource's absolute Location, *Conflict with RFC 9457 problem details,
// *TooManyRequests with its Retry-After, *Nonstandard for a status an old
// gateway invented — after the client has retried what is safe to retry.
// [Client.Do] runs the same pipeline and returns the plain *http.Response,
// for generated clients that want a doer.
//
// # Outcomes
//
// Every status code maps to one kind: see [Outcome] and the table in the
// README. Success kinds (*OK, *Created, *Accepted, *NoContent,
// *PartialContent, *NotModified, *Informational) keep the body streaming;
// failure kinds implement error, capture at most [DefaultMaxErrorBody]
// bytes of the body, parse problem details, and close it. Every 4xx kind
// unwraps to *ClientError, every 5xx kind and *Nonstandard to *ServerError.
//
// # Retries
//
// Each attempt goes through go-retryablehttp; waits come from a
// backoff/v4 ExponentialBackOff built per call, or from Retry-After up to a
// cap. See [RetryPolicy] and [DefaultRetryDecider]. Request bodies are
// replayed through GetBody or by seeking, never buffered.
//
// # Errors
//
// Send's error means there was no usable response: a [*RequestError]
// wrapping the cause, or [ErrInvalidStatus]. A 404 is not an error of
// Send; it is *NotFound, whose Err method returns it as an error.
package semhttp
