// Command redisserver runs an in-process Redis server
// (github.com/alicebob/miniredis/v2) on 127.0.0.1 at the port given with
// -port, until it is killed or its standard input ends. The interop
// cluster test runs Faye nodes on it when no redis-server is on PATH, so
// that `make test` needs no system package; it is a module of its own so
// that the SDK's go.mod does not require miniredis.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"

	"github.com/alicebob/miniredis/v2"
)

func main() {
	port := flag.Int("port", 6379, "TCP port on 127.0.0.1")
	flag.Parse()
	s := miniredis.NewMiniRedis()
	if err := s.StartAddr("127.0.0.1:" + strconv.Itoa(*port)); err != nil {
		log.Fatalf("redisserver: %v", err)
	}
	defer s.Close()
	fmt.Printf("redisserver: listening on %s\n", s.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until stdin ends
}
