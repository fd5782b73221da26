// go_bench.go: Go peer of bench/eddy_bench.c. Same shapes: yield (two
// goroutines calling runtime.Gosched), spawn+join (go + channel), memory per
// idle goroutine (1M parked on a channel), timer arm+cancel
// (time.AfterFunc + Stop, 1000 others armed), channel ping-pong
// (unbuffered, round trip), a goroutine feeding an unbuffered channel as a
// generator (per item), uncontended sync.Mutex Lock+Unlock. GOMAXPROCS=1,
// pinned to one core by run.sh. Timed figures: median of 3; idle_mem once,
// first, in a fresh process. Prints BENCH lines.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var quick = os.Getenv("EDDY_BENCH_QUICK") != "" && os.Getenv("EDDY_BENCH_QUICK") != "0"

func n(full int) int {
	if quick {
		return full / 100
	}
	return full
}

func report(entry string, v []float64, unit string) {
	sort.Float64s(v)
	fmt.Printf("BENCH %s go %.2f %s\n", entry, v[1], unit)
	fmt.Printf("BENCHSPREAD %s go %.2f %.2f %s\n", entry, v[0], v[2], unit)
}

func rss() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	p, _ := strconv.ParseInt(f[1], 10, 64)
	return p * 4096
}

func benchYield() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(10000000)
		var wg sync.WaitGroup
		wg.Add(2)
		t0 := time.Now()
		for k := 0; k < 2; k++ {
			go func() {
				for i := 0; i < iters; i++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		v[r] = float64(time.Since(t0).Nanoseconds()) / float64(2*iters)
	}
	report("yield", v, "ns")
}

func benchSpawnJoin() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(2000000)
		done := make(chan int)
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			go func(x int) { done <- x }(i)
			<-done
		}
		v[r] = float64(iters) / time.Since(t0).Seconds()
	}
	report("spawn_join", v, "ops/s")
}

func benchIdle() {
	// Measured once, first, in a fresh process: later rounds reuse the
	// memory the first one freed and would report almost nothing.
	v := make([]float64, 3)
	count := 1000000
	if quick {
		count = 10000
	}
	for r := 0; r < 1; r++ {
		runtime.GC()
		gate := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(count)
		before := rss()
		for i := 0; i < count; i++ {
			go func() { <-gate; wg.Done() }()
		}
		runtime.Gosched()
		time.Sleep(50 * time.Millisecond)
		v[r] = float64(rss()-before) / float64(count)
		close(gate)
		wg.Wait()
	}
	v[1], v[2] = v[0], v[0]
	report("idle_mem", v, "B")
}

func benchTimer() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(5000000)
		bg := make([]*time.Timer, 1000)
		for i := range bg {
			bg[i] = time.AfterFunc(time.Duration(10+i)*time.Second, func() {})
		}
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			t := time.AfterFunc(5*time.Second, func() {})
			t.Stop()
		}
		v[r] = float64(time.Since(t0).Nanoseconds()) / float64(iters)
		for _, t := range bg {
			t.Stop()
		}
	}
	report("timer", v, "ns")
}

func benchPingPong() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(5000000)
		ping, pong := make(chan int), make(chan int)
		go func() {
			for x := range ping {
				pong <- x
			}
		}()
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			ping <- i
			<-pong
		}
		v[r] = float64(time.Since(t0).Nanoseconds()) / float64(iters)
		close(ping)
	}
	report("pingpong", v, "ns")
}

func benchGen() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(5000000)
		ch := make(chan int)
		go func() {
			for i := 0; i < iters; i++ {
				ch <- i
			}
			close(ch)
		}()
		t0 := time.Now()
		s := 0
		for x := range ch {
			s += x
		}
		v[r] = float64(time.Since(t0).Nanoseconds()) / float64(iters)
		_ = s
	}
	report("agen", v, "ns")
}

func benchMutex() {
	v := make([]float64, 3)
	for r := 0; r < 3; r++ {
		iters := n(20000000)
		var mu sync.Mutex
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			mu.Lock()
			mu.Unlock()
		}
		v[r] = float64(time.Since(t0).Nanoseconds()) / float64(iters)
	}
	report("with_lock", v, "ns")
}

func main() {
	runtime.GOMAXPROCS(1) // one P, whatever the environment says
	benchIdle()
	benchYield()
	benchSpawnJoin()
	benchTimer()
	benchPingPong()
	benchGen()
	benchMutex()
}
