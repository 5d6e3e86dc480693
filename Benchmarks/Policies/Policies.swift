// The call policies and pipelines on their success path, an open circuit's refusal, and in the same
// run the floor they are measured against: a bare async call of the same closure, a clock read and
// a lock. Every policy is on ContinuousClock.
import Benchmark
import BenchmarkSupport
import BulwarkCircuitBreaker
import BulwarkConcurrency
import BulwarkCore
import BulwarkFallback
import BulwarkPipeline
import BulwarkRetry
import BulwarkTimeout
import BulwarkTokenBucket
import Synchronization

let clock = ContinuousClock()

/// The guarded work: an async function the optimiser cannot see through.
@inline(never)
func work(_ context: ResilienceContext) async throws -> Int {
    context.attempt
}

/// A token bucket that never runs dry.
func bottomless() throws -> TokenBucketRateLimiter<ContinuousClock> {
    try TokenBucketRateLimiter(capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock)
}

func breaker(_ configure: (inout CircuitBreakerConfiguration) -> Void = { _ in }) throws -> CircuitBreaker<ContinuousClock> {
    var configuration = CircuitBreakerConfiguration()
    configure(&configuration)
    return try CircuitBreaker(configuration: configuration, clock: clock)
}

/// A stage that only calls the operation: what composing costs, without any policy's work.
struct PassThrough: OutcomePolicy {
    func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await operation(context)
    }
}

/// Runs `operation` through `policy` once per scaled iteration, on the success path.
func success(_ name: String, _ policy: @escaping @Sendable () throws -> some ResiliencePolicy) {
    Benchmark(name) { benchmark in
        let policy = try policy()
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await policy.execute(context, work))
        }
    }
}

/// For designs that spawn tasks: a thousand calls per iteration.
func microsecondConfiguration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: standardMetrics, timeUnits: .nanoseconds, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000
    )
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    // The floor, in this run.
    Benchmark("Floor: bare async call") { benchmark in
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await work(context))
        }
    }
    Benchmark("Floor: ContinuousClock.nowNanoseconds") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(clock.nowNanoseconds)
        }
    }
    Benchmark("Floor: clock read + mutex") { benchmark in
        let mutex = Mutex<Int64>(0)
        for _ in benchmark.scaledIterations {
            let now = clock.nowNanoseconds
            mutex.withLock { $0 = now }
        }
        blackHole(mutex.withLock { $0 })
    }

    // Each policy alone.
    success("Circuit breaker (count window)") { try breaker() }
    success("Circuit breaker (time window, slow calls timed)") {
        try breaker { $0.window = .time(seconds: 10); $0.slowCallRateThreshold = 50; $0.slowCallDuration = .seconds(5) }
    }
    success("Retry") { try Retry(configuration: RetryConfiguration(maximumAttempts: 3), clock: clock) }
    success("Retry with a retry budget") {
        var configuration = RetryConfiguration(maximumAttempts: 3)
        configuration.budget = try RetryBudget(clock: clock)
        return try Retry(configuration: configuration, clock: clock)
    }
    success("Rate limiter (token bucket)") { try bottomless() }
    success("Bulkhead") { try Bulkhead(limit: 1_000, clock: clock) }
    success("Fallback (static value)") { Fallback(0) }

    // Pipelines on the success path.
    success("Pipeline of 1 (retry)") {
        try Pipeline { try Retry(configuration: RetryConfiguration(), clock: clock) }
    }
    success("Pipeline of 2 (retry, breaker)") {
        try Pipeline {
            try Retry(configuration: RetryConfiguration(), clock: clock)
            try breaker()
        }
    }
    success("Pipeline of 5 (fallback, retry, breaker, rate limiter, bulkhead)") {
        try Pipeline {
            Fallback(0)
            try Retry(configuration: RetryConfiguration(), clock: clock)
            try breaker()
            try bottomless()
            try Bulkhead(limit: 1_000, clock: clock)
        }
    }
    success("Diagnostic: pipeline of 5 pass-through stages") {
        Pipeline { PassThrough(); PassThrough(); PassThrough(); PassThrough(); PassThrough() }
    }
    success("Diagnostic: dynamic pipeline of 5 pass-through stages") {
        DynamicPipeline([PassThrough(), PassThrough(), PassThrough(), PassThrough(), PassThrough()])
    }
    success("Dynamic pipeline of 5 (same policies)") {
        DynamicPipeline([
            Fallback(0), try Retry(configuration: RetryConfiguration(), clock: clock), try breaker(), try bottomless(),
            try Bulkhead(limit: 1_000, clock: clock),
        ])
    }

    // A fallback chain: the first alternative serves; or its breaker is open and it is skipped.
    Benchmark("Fallback chain: the first alternative serves") { benchmark in
        let chain = try FallbackChain<Int>([
            FallbackAlternative("primary", policy: try breaker(), operation: work),
            FallbackAlternative("secondary", policy: try breaker(), operation: work),
        ])
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await chain.execute(context).index)
        }
    }
    Benchmark("Fallback chain: the first is skipped (breaker open), the second serves") { benchmark in
        let open = try breaker()
        open.transition(to: .forcedOpen)
        let chain = try FallbackChain<Int>([
            FallbackAlternative("primary", policy: open, operation: work),
            FallbackAlternative("secondary", policy: try breaker(), operation: work),
        ])
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await chain.execute(context).index)
        }
    }

    // An open circuit refusing.
    Benchmark("Open circuit: executeOutcome (no throw)") { benchmark in
        let breaker = try breaker()
        breaker.transition(to: .open)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            let outcome = await breaker.executeOutcome(context) { context in await .catching { try await work(context) } }
            blackHole(outcome.isSuccess)
        }
    }
    Benchmark("Open circuit: execute (throws)") { benchmark in
        let breaker = try breaker()
        breaker.transition(to: .open)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            do {
                blackHole(try await breaker.execute(context, work))
            } catch {
                blackHole(error)
            }
        }
    }
    Benchmark("Open circuit in a pipeline of 5: executeOutcome (no throw)") { benchmark in
        let open = try breaker()
        open.transition(to: .open)
        let pipeline = try Pipeline {
            try Retry(configuration: RetryConfiguration(maximumAttempts: 1), clock: clock)
            open
            try bottomless()
            try Bulkhead(limit: 1_000, clock: clock)
            try Timeout(.seconds(30), clock: clock)
        }
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(await pipeline.executeOutcome(context, catching: work).isSuccess)
        }
    }

    // The timeout: one child task per call; its baseline is the obvious design.
    Benchmark("Timeout (async let child, shared timer)", configuration: microsecondConfiguration()) { benchmark in
        let timeout = try Timeout(.seconds(30), clock: clock)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await timeout.execute(context, work))
        }
    }
    Benchmark("Timeout baseline (task group, sleeping child per call)", configuration: microsecondConfiguration()) { benchmark in
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await naiveTimeout(.seconds(30), context, work))
        }
    }
    Benchmark("Diagnostic: async let of the bare call", configuration: microsecondConfiguration()) { benchmark in
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            async let value = work(context)
            blackHole(try await value)
        }
    }
    Benchmark("Hedging (answer before the delay)", configuration: microsecondConfiguration()) { benchmark in
        let hedging = try Hedging(configuration: HedgingConfiguration(maximumHedges: 1, delay: .seconds(30)), clock: clock)
        let context = ResilienceContext(operationName: "call")
        for _ in benchmark.scaledIterations {
            blackHole(try await hedging.execute(context, work))
        }
    }
}

/// The timeout everyone writes first: the operation and a sleeper race in a task group.
func naiveTimeout<T: Sendable>(
    _ duration: Duration, _ context: ResilienceContext, _ operation: @escaping @Sendable (ResilienceContext) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation(context) }
        group.addTask {
            try await Task.sleep(for: duration)
            return nil
        }
        defer { group.cancelAll() }
        guard let value = try await group.next(), let value else { throw BulwarkError.timedOut(after: duration) }
        return value
    }
}
