module github.com/semhttp/semhttp

go 1.25.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/mccutchen/go-httpbin/v2 v2.25.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.22.0
)

require github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
