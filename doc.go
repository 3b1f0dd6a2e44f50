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
// # Redirects
//
// net/http's own following is off; redirect.go follows 301/302/303/307/308
// per RFC 9110 and the Fetch standard (POST→GET on 301/302 only, 303→GET,
// 307/308 keep method and body), drops credentials across origins, refuses
// https→http and non-http(s) targets, ends loops and long chains with a
// [*RedirectError], and remembers permanent redirects. See
// [WithRedirectPolicy].
//
// # Async jobs
//
// A 202 is an [*Accepted] with the monitor it names; [Accepted.Wait] polls
// it to completion, and a [Poller] can be handed to another process with
// [Poller.ResumeToken] and [Client.ResumePoller].
//
// # Cache
//
// GET responses with validators are kept (in memory by default, see
// [WithCache]); the next GET revalidates, and a 304 becomes a
// *NotModified that reads as the stored representation: its Response is
// the stored 200, freshened by the 304 ([Client.Do] hands a doer that 200).
//
// # Ranges
//
// [SetRange], *PartialContent with a strictly parsed [ContentRange] and
// streamed multipart parts, [Client.Download] (resumable, byte-exact), and
// the iterators [Client.RangePages] and [Client.LinkPages].
//
// # Per-call options
//
// Code that only holds an *http.Request — a generated client calling Do —
// reaches per-call settings through [WithRequestOptions]: [CaptureOutcome],
// [RetryFor], [RedirectsFor], [BypassCache].
//
// # Errors
//
// Send's and Do's error means there was no usable response, and it is
// always a [*RequestError] wrapping the cause (a network error, a
// [*RedirectError], a cancelled context, [ErrInvalidStatus]), as net/http's
// is always a *url.Error. A 404 is not an error of Send; it is *NotFound,
// whose Err method returns it as an error, and whose Problem is never nil.
// No error text or log line shows a URL's userinfo, query or fragment.
package semhttp
