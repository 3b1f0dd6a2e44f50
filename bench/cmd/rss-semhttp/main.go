// Command rss-semhttp measures the peak RSS of one large upload or download
// through semhttp's Send (-client semhttp-Send) or Do (-client semhttp-Do)
// (see internal/rss; run by run.sh).
package main

import (
	"github.com/semhttp/semhttp/bench/internal/rss"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() { rss.Main(workload.NameSemhttpSend, workload.NameSemhttpDo) }
