// Command rss-raw measures the peak RSS of one large upload or download
// through raw net/http (see internal/rss; run by run.sh).
package main

import (
	"github.com/semhttp/semhttp/bench/internal/rss"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() { rss.Main(workload.NameRaw) }
