// Helpers shared by the benchmark suites.
public import Benchmark
public import BulwarkCore
public import BulwarkEngine

/// The metrics of every suite: time and allocations (package-benchmark's ARC metrics crash here).
public let standardMetrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal]

/// The configuration of nanosecond-scale benchmarks: a million calls per iteration.
public func nanosecondConfiguration(metrics: [BenchmarkMetric] = standardMetrics) -> Benchmark.Configuration {
    .init(metrics: metrics, timeUnits: .nanoseconds, scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 1_000)
}

/// Something that answers one call at once: allowed or not.
public protocol Decider: Sendable {
    /// Decides one call of cost 1.
    func decide() -> Bool
}

extension InMemoryRateLimiter: Decider {
    /// `tryAcquire()`.
    @inlinable
    public func decide() -> Bool { (try? tryAcquire())?.isAllowed == true }
}

/// Calls `decider` from `tasks` concurrent tasks, `total` calls in all.
@inlinable
public func contend<D: Decider>(_ decider: D, tasks: Int, total: Int) async {
    await withTaskGroup(of: Void.self) { group in
        for _ in 0 ..< tasks {
            group.addTask {
                var allowed = 0
                for _ in 0 ..< total / tasks where decider.decide() { allowed &+= 1 }
                blackHole(allowed)
            }
        }
    }
}

/// Registers the permitted decision (on one and on two tasks) and the denied decision of a limiter.
@inlinable
public func decisions<Limiter: RateLimiter & Decider>(
    _ name: String,
    permitted: @escaping @Sendable () throws -> Limiter,
    denied: @escaping @Sendable () throws -> Limiter
) {
    Benchmark("\(name): tryAcquire permitted") { benchmark in
        let limiter = try permitted()
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }
    Benchmark("\(name): tryAcquire denied") { benchmark in
        let limiter = try denied()
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire().isAllowed)
        }
    }
    for tasks in [1, 2] {
        Benchmark("\(name): tryAcquire permitted, \(tasks) task\(tasks == 1 ? "" : "s")") { benchmark in
            let limiter = try permitted()
            await contend(limiter, tasks: tasks, total: benchmark.scaledIterations.count)
        }
    }
}
