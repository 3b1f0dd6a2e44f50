// Command rss-resty measures the peak RSS of one large upload or download
// through resty v2, on its defaults (-client resty) or streaming the
// download (-client resty-stream) (see internal/rss; run by run.sh).
package main

import (
	"github.com/semhttp/semhttp/bench/internal/rss"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() { rss.Main(workload.NameResty, workload.NameRestyStream) }
