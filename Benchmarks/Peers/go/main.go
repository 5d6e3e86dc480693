// Peer harness for Go's limiters on their always-permit paths, single thread:
// golang.org/x/time/rate Limiter.Allow() and github.com/juju/ratelimit Bucket.TakeAvailable(1);
// and for Go's circuit breaker on its success path: gopkg.in/eapache/go-resiliency.v1/breaker
// Breaker.Run(f) on a closed breaker, f a trivial call that succeeds.
//
// Prints one line per peer on stdout:  <label>\t<median ns/op>
// Per-round detail and a checksum go to stderr. Exits 1 if any timed call is refused.
//
// Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/juju/ratelimit"
	"golang.org/x/time/rate"
	"gopkg.in/eapache/go-resiliency.v1/breaker"
)

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// runAllow calls Allow n times and returns the elapsed time and how many were permitted.
//
//go:noinline
func runAllow(lim *rate.Limiter, n int) (time.Duration, int) {
	permitted := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if lim.Allow() {
			permitted++
		}
	}
	return time.Since(start), permitted
}

// runTakeAvailable calls TakeAvailable(1) n times and returns the elapsed time and how many
// calls got their token.
//
//go:noinline
func runTakeAvailable(bucket *ratelimit.Bucket, n int) (time.Duration, int) {
	permitted := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if bucket.TakeAvailable(1) == 1 {
			permitted++
		}
	}
	return time.Since(start), permitted
}

// runBreaker calls Run with a trivial succeeding function n times and returns the elapsed time
// and how many calls ran and returned nil (an open breaker would return ErrBreakerOpen).
//
//go:noinline
func runBreaker(b *breaker.Breaker, n int) (time.Duration, int) {
	permitted := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if b.Run(func() error { return nil }) == nil {
			permitted++
		}
	}
	return time.Since(start), permitted
}

// measure calibrates a batch to at least 100 ms, times the rounds, and prints the median round
// as `label<TAB>ns/op`.
func measure(label string, run func(n int) (time.Duration, int)) {
	rounds := int(envFloat("PEERS_ROUNDS", 5))
	target := envFloat("PEERS_ROUND_SECONDS", 1.0)
	checksum := 0

	// Warm up and calibrate: grow n until one batch takes >= 100 ms.
	n := 1 << 16
	var d time.Duration
	for {
		var p int
		d, p = run(n)
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
		d, p := run(n)
		checksum += p
		if p != n {
			fmt.Fprintf(os.Stderr, "%s: only %d of %d calls were permitted; limiter not on the always-permit path\n", label, p, n)
			os.Exit(1)
		}
		ns := float64(d.Nanoseconds()) / float64(n)
		perOp = append(perOp, ns)
		fmt.Fprintf(os.Stderr, "%s round %d: %d ops, %.1f ns/op\n", label, r+1, n, ns)
	}
	sorted := append([]float64(nil), perOp...)
	sort.Float64s(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	fmt.Fprintf(os.Stderr, "%s best %.1f ns/op, median %.1f ns/op, checksum %d\n", label, sorted[0], median, checksum)
	fmt.Printf("%s\t%.1f\n", label, median)
}

func main() {
	// Finite but huge rate and burst: every call is permitted, and the limiter still does its
	// full token arithmetic (rate.Inf would short-circuit it).
	lim := rate.NewLimiter(rate.Limit(1e12), 1<<30)
	measure("go-x-time-rate-allow", func(n int) (time.Duration, int) { return runAllow(lim, n) })

	// The same for juju: the bucket reads the clock and does its tick arithmetic on each call
	// (it sits one token below capacity, so the refill is never skipped).
	bucket := ratelimit.NewBucketWithRate(1e12, 1<<30)
	fmt.Fprintf(os.Stderr, "go-juju-ratelimit-takeavailable: bucket rate %.4g tokens/s, capacity %d\n", bucket.Rate(), bucket.Capacity())
	measure("go-juju-ratelimit-takeavailable", func(n int) (time.Duration, int) { return runTakeAvailable(bucket, n) })

	// A closed circuit breaker around a call that always succeeds: 5 errors (within the timeout)
	// would open it, 1 success closes it from half-open, 60 s timeout (pybreaker's defaults). On
	// success from closed, Run loads the state atomically, runs the function under a deferred
	// recover, and returns without taking its lock.
	cb := breaker.New(5, 1, 60*time.Second)
	measure("go-eapache-breaker-run", func(n int) (time.Duration, int) { return runBreaker(cb, n) })
}
