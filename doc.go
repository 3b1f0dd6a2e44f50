// Package semhttp is an HTTP client that tells its caller what a response
// means.
//
// [Client.Send] returns a typed [Outcome] — *Created with the new
// resource's absolute Location, *Conflict with RFC 9457 problem details,
// *TooManyRequests with its Retry-After, *Nonstandard for a status an old
// gateway invented — after the client has retried what is safe to retry,
// followed redirects the way RFC 9110 says and revalidated what it had
// cached. Most callers want Send, or [Decode] around it:
//
//	user, err := semhttp.Decode[User](c.Send(req))
//
// [Client.Do] runs the same pipeline and returns the plain *http.Response,
// for generated clients that want a doer; [Client.HTTPClient] wraps it as
// an *http.Client for SDKs that take one. The zero [Client] is usable;
// [New] takes options.
//
// # Outcomes
//
// Every status code maps to exactly one kind:
//
//	status                      kind                    carries
//	200, 203, unlisted 2xx      *OK                     the body (streaming)
//	201                         *Created                Location, absolute (the target URI when absent)
//	202                         *Accepted               Monitor, RetryAfter; Wait polls the job
//	204, 205                    *NoContent              Reset for 205
//	206                         *PartialContent         ContentRange; Parts for multipart/byteranges
//	300, unlisted 3xx           *MultipleChoices        Location, Alternatives
//	301 302 303 307 308         *Redirect               when not followed: Location, Permanent, MethodKept
//	304                         *NotModified            reads as the stored representation
//	400                         *BadRequest             problem details
//	401                         *Unauthorized           WWW-Authenticate Challenges
//	403, 404                    *Forbidden, *NotFound   problem details
//	405                         *MethodNotAllowed       Allow
//	406, 409, 410, 412          *NotAcceptable, *Conflict, *Gone, *PreconditionFailed
//	414, 428                    *URITooLong, *PreconditionRequired
//	416                         *RangeNotSatisfiable    CompleteLength
//	429                         *TooManyRequests        RetryAfter
//	unlisted 4xx                *ClientError            problem details (handled as 400)
//	500 502 504, unlisted 5xx   *ServerError            problem details
//	501                         *NotImplemented         never retried
//	503                         *ServiceUnavailable     RetryAfter
//	000–099, 600–999            *Nonstandard            Code, Reason; handled as a 5xx, never success
//	1xx as a final response     *Informational
//	not three digits (1000)     an error wrapping ErrBadStatus, not an outcome
//
// Success kinds keep the body open and streaming: read it, then Close the
// outcome. Failure kinds implement error, capture at most 64 KiB of the
// body ([WithMaxErrorBody]), parse problem details (Problem is never nil),
// and close it themselves. errors.As(err, new(*ClientError)) matches every
// 4xx kind, errors.As(err, new(*ServerError)) every 5xx kind and
// *Nonstandard. A job that ends badly is a *JobError.
//
// # The pipeline
//
// Each call of Send or Do goes through these stages, in order:
//
//  1. request defaults: [WithBaseURL], [WithHeader], the call's
//     [RequestOptions], an Idempotency-Key ([WithIdempotencyKeys]);
//  2. the cache: a fresh stored response answers a GET here, without
//     the network; else validators for a GET, If-Match for a
//     conditional write;
//  3. redirects: the chain, hop by hop, each hop tried by
//     go-retryablehttp under semhttp's [RetryPolicy];
//  4. the cache again: a response stored as it is read, a 304 answered
//     from storage, a stale response served when the origin failed and
//     stale-if-error allows it, a write invalidating what it changed;
//  5. classification: an [Outcome] for Send, the response as it is for Do.
//
// # Retries
//
// Waits come from a backoff/v4 ExponentialBackOff built per call; a
// Retry-After is a minimum, up to a cap. Idempotent requests are retried
// on 5xx and on transport errors; any request on 408, 425, 429 and 503, or
// when the connection failed before anything was sent. See [RetryPolicy]
// and [DefaultRetryDecider]. Request bodies are replayed through GetBody or
// by seeking, never buffered ([NewJSONRequest] builds a replayable one).
//
// Retries never make an outage worse: they spend from a budget that the
// Client's successful responses refill (RetryPolicy.BudgetRatio), and an
// origin that answered 429 or 503 with Retry-After, or whose rate limit
// ran out (see [RateLimit]), gets no request from the Client until then:
// calls wait, or end at once with [ErrThrottled].
//
// # Redirects
//
// net/http's own following is off; semhttp follows 301/302/303/307/308 per
// RFC 9110 and the Fetch standard (POST→GET on 301/302 only, 303→GET,
// 307/308 keep method and body), drops credentials across origins, refuses
// https→http and non-http(s) targets, ends loops and long chains with a
// [*RedirectError], and remembers permanent redirects. See
// [WithRedirectPolicy].
//
// # Async jobs
//
// A 202 is an [*Accepted] with the monitor it names; [Accepted.Wait] polls
// it to completion. [Client.NewPoller] gives the [Poller] itself for any
// outcome that stands for a running operation — a 202, a 200 or 201 with
// Azure-AsyncOperation or Operation-Location, a PUT whose provisioningState
// is in progress, a GET answered 202 with no monitor — and a done one for
// any other. [Poller.ResumeToken] and [Client.ResumePoller] hand it to
// another process.
//
// # Cache
//
// Every Client has a private HTTP cache (RFC 9111), in memory by default
// (see [WithCache]; WithCache(nil) turns it off). A stored response that
// is fresh — by max-age, Expires, or the Last-Modified heuristic —
// answers a GET without the network, as the stored response's kind with
// Info().FromCache set; a stale one is revalidated, and a 304 becomes a
// *NotModified that reads as the stored representation: its Response is
// the stored response, freshened by the 304 ([Client.Do] hands a doer
// that response, with an Age header). stale-while-revalidate,
// stale-if-error and the request's own Cache-Control directives are
// honoured; [RequestOptions].BypassCache leaves the cache out of one
// call. [WithConditionalWrites] makes writes conditional on the stored
// ETag. A [Store] can be shared by the processes of a fleet: the module
// github.com/semhttp/semhttp/redisstore keeps the cache in Redis.
//
// # Tracing and metrics
//
// [Hooks] ([WithHooks]) let an observer see each logical call and each
// request it puts on the wire; the module
// github.com/semhttp/semhttp/semhttpotel builds them for OpenTelemetry:
// a span per call with a child per attempt, and metrics.
//
// # Ranges and paging
//
// *PartialContent with a strictly parsed [ContentRange] and streamed
// multipart parts, [Client.Download] (resumable, byte-exact, optionally in
// parallel segments), and the iterators [Client.RangePages] and
// [Client.LinkPages]. Every outcome's Link method reads its Link header.
//
// # Per-call settings
//
// Code that only holds an *http.Request — a generated client calling Do —
// reaches per-call settings through the request's context:
// [WithRequestOptions] with [RequestOptions] (retry and redirect policy,
// headers, bypassing the cache, and the Outcome of a Do call).
//
// # Errors
//
// Send's and Do's error means there was no usable response, and it is
// always a [*RequestError] wrapping the cause (a network error, a
// [*RedirectError], a cancelled context, [ErrBadStatus]), as net/http's
// is always a *url.Error. A 404 is not an error of Send; it is *NotFound,
// whose Err method returns it as an error. Sentinels ([ErrRedirectLoop],
// [ErrPollBudget], ...) are matched with errors.Is. No error text or log
// line shows a URL's userinfo, query or fragment.
package semhttp
