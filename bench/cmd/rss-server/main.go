// Command rss-server is the loopback server of the whole-process memory
// comparison: the benchmark server (internal/workload) on 127.0.0.1, in a
// process of its own so that its memory is not counted for any client. It
// writes its base URL to -addrfile and exits on SIGINT/SIGTERM or after
// -timeout.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() {
	addrFile := flag.String("addrfile", "", "write the base URL here")
	timeout := flag.Duration("timeout", 30*time.Minute, "exit after this long")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(base+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	srv := &http.Server{Handler: workload.NewServer(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
