// A Go service with net/http/pprof on: a CPU-hot function (burnCPU), goroutines blocked on a
// channel and on a mutex, and a named listener. Prints "ready <port>" once it serves.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
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

//go:noinline
func waitForOrders(orders chan int) {
	<-orders
}

//go:noinline
func waitForLock(mu *sync.Mutex) {
	mu.Lock()
}

func main() {
	address := "127.0.0.1:0"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	listener, err := net.Listen("tcp", address)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	orders := make(chan int)
	for i := 0; i < 3; i++ {
		go waitForOrders(orders)
	}
	var mu sync.Mutex
	mu.Lock()
	go waitForLock(&mu)
	go func() {
		_ = http.Serve(listener, nil)
	}()
	fmt.Printf("ready %d\n", listener.Addr().(*net.TCPAddr).Port)
	for {
		sink += burnCPU(2_000_000)
		time.Sleep(time.Millisecond)
	}
}
