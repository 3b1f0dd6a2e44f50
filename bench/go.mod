module github.com/semhttp/semhttp/bench

go 1.25.0

require (
	github.com/bartventer/httpcache v0.9.0
	github.com/go-resty/resty/v2 v2.17.2
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/semhttp/semhttp v0.0.0
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/semhttp/semhttp => ../
