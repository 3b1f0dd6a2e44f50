// Command rss-retryablehttp measures the peak RSS of one large upload or
// download through go-retryablehttp's client (see internal/rss; run by
// run.sh).
package main

import (
	"github.com/semhttp/semhttp/bench/internal/rss"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() { rss.Main(workload.NameRetryable) }
