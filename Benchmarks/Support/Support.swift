// Helpers shared by the benchmark suites.
#if canImport(Glibc)
import Glibc
#endif
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

#if canImport(Glibc)
/// glibc's `malloc_trim` (in `malloc.h`, which the Glibc module does not import).
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32
#endif

/// Resident memory of this process, in bytes (Linux: /proc/self/statm), after handing the
/// allocator's free memory back to the system: otherwise memory freed earlier would be reused
/// unseen and an entry (a key, a job, a waiter) would look cheaper than it is.
public func residentBytes() -> Int {
    #if canImport(Glibc)
    _ = mallocTrim(0)
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
    // "size resident shared ...", in pages.
    let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let resident = Int(fields[1]) else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return 0
    #endif
}

/// One round on a waiting order, as the Queues and Scale suites time it, `count` times: enqueue two
/// tickets, serve the head, withdraw the second; the order's size is unchanged. Returns the next
/// ticket id.
@inlinable
public func orderRounds<Order: WaitOrder>(
    _ order: inout Order, count: Int, from first: UInt64, ticket: (UInt64) -> WaitTicket
) -> UInt64 {
    var next = first
    for _ in 0 ..< count {
        order.enqueue(ticket(next))
        order.enqueue(ticket(next + 1))
        if let head = order.next(at: Int64(next)) { order.removeServed(head) }
        order.remove(ticket(next + 1))
        next += 2
    }
    return next
}
