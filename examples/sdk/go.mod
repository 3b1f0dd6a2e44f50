module github.com/semhttp/semhttp/examples/sdk

go 1.25.0

require (
	github.com/oapi-codegen/runtime v1.8.0
	github.com/semhttp/semhttp v0.0.0-00010101000000-000000000000
)

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/semhttp/semhttp => ../..
