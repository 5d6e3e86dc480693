// Peer harness: github.com/juju/ratelimit Bucket.TakeAvailable(1) on the always-permit path.
//
// Prints exactly one line on stdout:  go-juju-ratelimit-takeavailable\t<median ns/op>
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

	"github.com/juju/ratelimit"
)

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// run calls TakeAvailable(1) n times and returns the elapsed time and how many
// calls got their token.
//
//go:noinline
func run(bucket *ratelimit.Bucket, n int) (time.Duration, int) {
	permitted := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if bucket.TakeAvailable(1) == 1 {
			permitted++
		}
	}
	return time.Since(start), permitted
}

func main() {
	rounds := int(envFloat("PEERS_ROUNDS", 5))
	target := envFloat("PEERS_ROUND_SECONDS", 1.0)

	// Finite but huge rate and capacity: every call gets its token, and the
	// bucket still reads the clock and does its tick arithmetic on each call
	// (it sits one token below capacity, so the refill is never skipped).
	bucket := ratelimit.NewBucketWithRate(1e12, 1<<30)
	fmt.Fprintf(os.Stderr, "go-juju-ratelimit-takeavailable: bucket rate %.4g tokens/s, capacity %d\n", bucket.Rate(), bucket.Capacity())
	checksum := 0

	// Warm up and calibrate: grow n until one batch takes >= 100 ms.
	n := 1 << 16
	var d time.Duration
	for {
		var p int
		d, p = run(bucket, n)
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
		d, p := run(bucket, n)
		checksum += p
		if p != n {
			fmt.Fprintf(os.Stderr, "juju harness: only %d of %d calls got their token; bucket not on the always-permit path\n", p, n)
			os.Exit(1)
		}
		ns := float64(d.Nanoseconds()) / float64(n)
		perOp = append(perOp, ns)
		fmt.Fprintf(os.Stderr, "go-juju-ratelimit-takeavailable round %d: %d ops, %.1f ns/op\n", r+1, n, ns)
	}
	sorted := append([]float64(nil), perOp...)
	sort.Float64s(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	fmt.Fprintf(os.Stderr, "go-juju-ratelimit-takeavailable best %.1f ns/op, median %.1f ns/op, checksum %d\n", sorted[0], median, checksum)
	fmt.Printf("go-juju-ratelimit-takeavailable\t%.1f\n", median)
}
