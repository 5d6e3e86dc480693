// The token bucket's decisions: permitted and denied `tryAcquire` on the real clock and on the
// cached clock, and one or two tasks contending for one limiter. Compare with the Floor suite.
import Benchmark
import BulwarkTokenBucket

let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal]

/// A bucket that never runs dry in a benchmark: a quadrillion tokens, refilled at a billion a second.
func bottomless<C: NanosecondClock>(clock: C) throws -> TokenBucketLimiter<C> {
    try TokenBucketLimiter(capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock)
}

/// A bucket that is always empty: no tokens, one back per hour.
func empty<C: NanosecondClock>(clock: C) throws -> TokenBucketLimiter<C> {
    try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(3600), initialTokens: 0, clock: clock)
}

/// `tryAcquire` from `tasks` concurrent tasks, `total` calls in all.
func contend<C: NanosecondClock>(_ limiter: TokenBucketLimiter<C>, tasks: Int, total: Int) async {
    await withTaskGroup(of: Void.self) { group in
        for _ in 0 ..< tasks {
            group.addTask {
                var allowed = 0
                for _ in 0 ..< total / tasks {
                    if (try? limiter.tryAcquire())?.isAllowed == true { allowed &+= 1 }
                }
                blackHole(allowed)
            }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: metrics,
        timeUnits: .nanoseconds,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    Benchmark("tryAcquire permitted (ContinuousClock)") { benchmark in
        let limiter = try bottomless(clock: ContinuousClock())
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }

    Benchmark("tryAcquire permitted (CachedClock)") { benchmark in
        let clock = try CachedClock()
        let ticker = Task { await clock.run() }
        defer { ticker.cancel() }
        let limiter = try bottomless(clock: clock)
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }

    Benchmark("tryAcquire denied (ContinuousClock)") { benchmark in
        let limiter = try empty(clock: ContinuousClock())
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }

    Benchmark("tryAcquire permitted, 1 task (ContinuousClock)") { benchmark in
        let limiter = try bottomless(clock: ContinuousClock())
        await contend(limiter, tasks: 1, total: benchmark.scaledIterations.count)
    }

    Benchmark("tryAcquire permitted, 2 tasks contending (ContinuousClock)") { benchmark in
        let limiter = try bottomless(clock: ContinuousClock())
        await contend(limiter, tasks: 2, total: benchmark.scaledIterations.count)
    }
}
