// Peer harness: golang.org/x/time/rate Limiter.Allow() on the always-permit path.
//
// Prints exactly one line on stdout:  go-x-time-rate-allow\t<median ns/op>
// Per-round detail and a checksum go to stderr.
//
// Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// run calls Allow n times and returns the elapsed time and how many were permitted.
//
//go:noinline
func run(lim *rate.Limiter, n int) (time.Duration, int) {
	permitted := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if lim.Allow() {
			permitted++
		}
	}
	return time.Since(start), permitted
}

func main() {
	rounds := int(envFloat("PEERS_ROUNDS", 5))
	target := envFloat("PEERS_ROUND_SECONDS", 1.0)

	// Finite but huge rate and burst: every call is permitted, and the limiter
	// still does its full token arithmetic (rate.Inf would short-circuit it).
	lim := rate.NewLimiter(rate.Limit(1e12), 1<<30)
	checksum := 0

	// Warm up and calibrate: grow n until one batch takes >= 100 ms.
	n := 1 << 16
	var d time.Duration
	for {
		var p int
		d, p = run(lim, n)
		checksum += p
		if d >= 100*time.Millisecond {
			break
		}
		n *= 2
	}
	n = int(float64(n) * target / d.Seconds())
	if n < 1 {
		n = 1
	}

	perOp := make([]float64, 0, rounds)
	for r := 0; r < rounds; r++ {
		d, p := run(lim, n)
		checksum += p
		if p != n {
			fmt.Fprintf(os.Stderr, "go harness: only %d of %d calls were permitted; limiter not on the always-permit path\n", p, n)
			os.Exit(1)
		}
		ns := float64(d.Nanoseconds()) / float64(n)
		perOp = append(perOp, ns)
		fmt.Fprintf(os.Stderr, "go-x-time-rate-allow round %d: %d ops, %.1f ns/op\n", r+1, n, ns)
	}
	sorted := append([]float64(nil), perOp...)
	sort.Float64s(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	fmt.Fprintf(os.Stderr, "go-x-time-rate-allow best %.1f ns/op, median %.1f ns/op, checksum %d\n", sorted[0], median, checksum)
	fmt.Printf("go-x-time-rate-allow\t%.1f\n", median)
}
