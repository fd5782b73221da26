// echo_go.go: Go peer of the TCP echo entries (runtime go, Debian's Go
// 1.19): the idiomatic server, a goroutine per connection doing
// conn.Read / conn.Write into a 64 KiB buffer, on the runtime's netpoller.
// GOMAXPROCS=1 (set here and by run.sh), pinned to one CPU by run.sh. Go
// sets TCP_NODELAY on every connection by default.
//
//	echo_go PORT        serves 127.0.0.1:PORT until killed
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
)

func handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo_go PORT")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_go:", err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go handle(c)
	}
}
