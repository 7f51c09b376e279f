// A Go service without net/http/pprof: it serves a plain HTTP page on a port and burns CPU.
// Prints "ready <port>" once it serves.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

var sink uint64

//go:noinline
func burnCPU(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 17
	}
	return x
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from a Go service without pprof")
	})
	go func() {
		_ = http.Serve(listener, mux)
	}()
	fmt.Printf("ready %d\n", listener.Addr().(*net.TCPAddr).Port)
	for {
		sink += burnCPU(2_000_000)
		time.Sleep(time.Millisecond)
	}
}
