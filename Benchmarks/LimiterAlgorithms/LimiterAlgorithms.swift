// Every algorithm's decisions beside the token bucket's: permitted and denied `tryAcquire` on the
// real clock, on one and two tasks. Compare with the Floor suite (clock read + compare-exchange).
import Benchmark
import BenchmarkSupport
import BulwarkFixedWindow
import BulwarkGCRA
import BulwarkLeakyBucket
import BulwarkSlidingWindow

extension LockFreeGCRARateLimiter: Decider {
    @inlinable
    public func decide() -> Bool { (try? tryAcquire())?.isAllowed == true }
}

let clock = ContinuousClock()
let hour = Duration.seconds(3_600)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    decisions(
        "Leaky-bucket meter",
        permitted: { try LeakyBucketMeterRateLimiter(capacity: 1_000_000_000_000_000, drain: 1_000_000_000, every: .seconds(1), clock: clock) },
        denied: { try LeakyBucketMeterRateLimiter(capacity: 1, drain: 1, every: hour, initialLevel: 1, clock: clock) }
    )
    decisions(
        "Leaky-bucket shaper",
        // One unit per nanosecond: the schedule is always free again by the next call.
        permitted: { try LeakyBucketShaperRateLimiter(rate: 1_000_000_000, per: .seconds(1), clock: clock) },
        denied: {
            let shaper = try LeakyBucketShaperRateLimiter(rate: 1, per: hour, clock: clock)
            _ = try shaper.tryAcquire()
            return shaper
        }
    )
    decisions(
        "GCRA",
        permitted: { try GCRARateLimiter(rate: 1_000_000_000, per: .seconds(1), burst: 1_000_000_000_000, clock: clock) },
        denied: {
            let gcra = try GCRARateLimiter(rate: 1, per: hour, burst: 1, clock: clock)
            _ = try gcra.tryAcquire()
            return gcra
        }
    )
    Benchmark("GCRA lock-free: tryAcquire permitted") { benchmark in
        let limiter = try LockFreeGCRARateLimiter(rate: 1_000_000_000, per: .seconds(1), burst: 1_000_000_000_000, clock: clock)
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }
    Benchmark("GCRA lock-free: tryAcquire denied") { benchmark in
        let limiter = try LockFreeGCRARateLimiter(rate: 1, per: hour, burst: 1, clock: clock)
        _ = try limiter.tryAcquire()
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }
    for tasks in [1, 2] {
        Benchmark("GCRA lock-free: tryAcquire permitted, \(tasks) task\(tasks == 1 ? "" : "s")") { benchmark in
            let limiter = try LockFreeGCRARateLimiter(rate: 1_000_000_000, per: .seconds(1), burst: 1_000_000_000_000, clock: clock)
            await contend(limiter, tasks: tasks, total: benchmark.scaledIterations.count)
        }
    }
    decisions(
        "Fixed window",
        permitted: { try FixedWindowRateLimiter(limit: 1_000_000_000_000_000, window: hour, clock: clock) },
        denied: {
            let window = try FixedWindowRateLimiter(limit: 1, window: hour, clock: clock)
            _ = try window.tryAcquire()
            return window
        }
    )
    decisions(
        "Sliding-window log",
        // A 1 µs window: a few dozen entries live, the oldest leaving as new ones arrive.
        permitted: { try SlidingWindowLogRateLimiter(limit: 1_000_000, window: .microseconds(1), clock: clock) },
        denied: {
            let log = try SlidingWindowLogRateLimiter(limit: 1, window: hour, clock: clock)
            _ = try log.tryAcquire()
            return log
        }
    )
    decisions(
        "Sliding-window counter",
        permitted: { try SlidingWindowCounterRateLimiter(limit: 1_000_000_000, window: .milliseconds(1), clock: clock) },
        denied: {
            let counter = try SlidingWindowCounterRateLimiter(limit: 1, window: hour, clock: clock)
            _ = try counter.tryAcquire()
            return counter
        }
    )
    decisions(
        "Segmented window (12 × 5 s)",
        permitted: { try SegmentedWindowRateLimiter(limit: 1_000_000_000_000_000, window: .seconds(60), segments: 12, clock: clock) },
        denied: {
            let window = try SegmentedWindowRateLimiter(limit: 1, window: .seconds(60), segments: 12, clock: clock)
            _ = try window.tryAcquire()
            return window
        }
    )
}
