package redisstore_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/redisstore"
)

// Every process of a fleet builds its Client on the same Redis: a
// response one of them fetched answers the others, or is revalidated by
// them with a 304. (This example needs a Redis on localhost:6379; it is
// compiled, not run, by go test.)
func Example() {
	rdb := redis.NewClient(&redis.Options{
		Addr: "localhost:6379",
		// go-redis then bounds its reads by the store's timeout itself.
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close()
	c := semhttp.New(semhttp.WithCache(redisstore.New(rdb, redisstore.WithPrefix("myapp:http:"))))
	defer c.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1/widgets/42", nil)
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	// "fresh" when another process stored it, "" from the origin.
	fmt.Println(resp.Header.Get(semhttp.CacheHeader), len(body))
}

// New takes any go-redis UniversalClient: here Sentinel, or a Cluster
// when Addrs lists its nodes and MasterName is empty. A store's keys of one
// URL share a hash slot.
func ExampleNew() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
		MasterName:            "cache",
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close()
	store := redisstore.New(rdb,
		redisstore.WithTimeout(50*time.Millisecond), // each call to Redis, at most
		redisstore.WithCooldown(2*time.Second),      // Redis left alone after it failed
		redisstore.WithMaxEntryBytes(256<<10),       // bodies worth a round trip
	)
	c := semhttp.New(semhttp.WithCache(store))
	defer c.CloseIdleConnections()
}

// The README's three lines.
func readmeScalingOut() *semhttp.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true}) // or a Cluster or Sentinel client
	store := redisstore.New(rdb)                                                            // go get github.com/semhttp/semhttp/redisstore
	c := semhttp.New(semhttp.WithCache(store))
	return c
}

var _ = readmeScalingOut
