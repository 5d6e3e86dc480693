// The token bucket's decisions: permitted and denied `tryAcquire` on the real clock and on the
// cached clock, and one or two tasks contending for one limiter. Compare with the Floor suite.
import Benchmark
import BenchmarkSupport
import BulwarkTokenBucket

/// A bucket that never runs dry in a benchmark: a quadrillion tokens, refilled at a billion a second.
func bottomless<C: NanosecondClock>(clock: C) throws -> TokenBucketRateLimiter<C> {
    try TokenBucketRateLimiter(capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    decisions(
        "Token bucket",
        permitted: { try bottomless(clock: ContinuousClock()) },
        // Always empty: no tokens, one back per hour.
        denied: { try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(3600), initialTokens: 0, clock: ContinuousClock()) }
    )

    Benchmark("Token bucket: tryAcquire permitted (CachedClock)") { benchmark in
        let clock = try CachedClock()
        let ticker = Task { await clock.run() }
        defer { ticker.cancel() }
        let limiter = try bottomless(clock: clock)
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }
}
