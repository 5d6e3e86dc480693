// What composes limiters: a chain of three, a budget of three dimensions, the bulkhead's permit.
// Compared with one token-bucket decision, measured in the same run (the Reference row).
import Benchmark
import BenchmarkSupport
import BulwarkBudget
import BulwarkConcurrency
import BulwarkTokenBucket

let clock = ContinuousClock()

/// A token bucket that never runs dry.
func bottomless() throws -> TokenBucketRateLimiter<ContinuousClock> {
    try TokenBucketRateLimiter(capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    // What the composites are measured against, in the same run: one decision of one limiter.
    Benchmark("Reference: one token bucket, tryAcquire permitted") { benchmark in
        let limiter = try bottomless()
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }

    Benchmark("Chain of three: tryAcquire permitted") { benchmark in
        let chain = try RateLimitChain([.limiter("global", bottomless()), .limiter("tenant", bottomless()), .limiter("user", bottomless())], clock: clock)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try chain.tryAcquire(context: context).isAllowed)
        }
    }

    Benchmark("Chain of three: tryAcquire denied by the last link") { benchmark in
        let empty = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(3_600), initialTokens: 0, clock: clock)
        let chain = try RateLimitChain([.limiter("global", bottomless()), .limiter("tenant", bottomless()), .limiter("user", empty)], clock: clock)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try chain.tryAcquire(context: context).isAllowed)
        }
    }

    Benchmark("Budget of three dimensions: tryReserve") { benchmark in
        let budget = try TokenBudget(dimensions: [
            .limiter("requests", bottomless()), .limiter("inputTokens", bottomless()), .limiter("outputTokens", bottomless()),
        ], clock: clock)
        let context = ResilienceContext(operationName: "chat")
        for _ in benchmark.scaledIterations {
            blackHole(try budget.tryReserve([1, 1_200, 4_000], context: context).isReserved)
        }
    }

    Benchmark("Budget of three dimensions: tryReserve + settle") { benchmark in
        let budget = try TokenBudget(dimensions: [
            .limiter("requests", bottomless()), .limiter("inputTokens", bottomless()), .limiter("outputTokens", bottomless()),
        ], clock: clock)
        let context = ResilienceContext(operationName: "chat")
        for _ in benchmark.scaledIterations {
            let reservation = try budget.tryReserve([1, 1_200, 4_000], context: context)
            blackHole(try reservation.settle([1, 1_100, 350]))
        }
    }

    Benchmark("Bulkhead: tryAcquirePermit + release") { benchmark in
        let bulkhead = try Bulkhead(limit: 1_000, clock: clock)
        for _ in benchmark.scaledIterations {
            guard let permit = try bulkhead.tryAcquirePermit() else { continue }
            permit.release()
        }
    }

    diagnostics()

    Benchmark("Bulkhead: withPermit") { benchmark in
        let bulkhead = try Bulkhead(limit: 1_000, clock: clock)
        for _ in benchmark.scaledIterations {
            blackHole(try await bulkhead.withPermit { 1 })
        }
    }
}

// Diagnostics: the floor of a chain of three (three specialized decisions at one reading).
let diagnostics: @Sendable () -> Void = {
    Benchmark("Diagnostic: three tryAcquire calls (direct, three clock reads)") { benchmark in
        let limiters = try [bottomless(), bottomless(), bottomless()]
        for _ in benchmark.scaledIterations {
            let now = clock.nowNanoseconds
            var allowed = true
            for limiter in limiters { let decision = try limiter.tryAcquire(); allowed = allowed && decision.isAllowed }
            blackHole(allowed)
        }
    }
}
