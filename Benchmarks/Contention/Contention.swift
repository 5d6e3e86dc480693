// The engine's lock under oversubscription: 8 and 64 OS threads on this 2-core machine hammering
// one token bucket, through the engine (LockedValue: compare-exchange, spin, then yield the
// thread) and through Synchronization.Mutex around the same algorithm value. Reports the
// throughput and the p99 of one decision (timed around each call, clock reads included).
#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import BenchmarkSupport
import BulwarkTokenBucket
import Synchronization

let clock = ContinuousClock()
let configuration = TokenBucket.Configuration(capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1))
let callsPerThread = 20_000

/// One thread's work: `calls` timed decisions, latencies in `latencies`.
final class Worker: @unchecked Sendable {
    let decide: @Sendable () -> Void
    let start: UnsafeMutablePointer<Atomic<Bool>>
    let latencies: UnsafeMutablePointer<Int64>
    let calls: Int

    init(calls: Int, start: UnsafeMutablePointer<Atomic<Bool>>, decide: @escaping @Sendable () -> Void) {
        self.calls = calls
        self.start = start
        self.decide = decide
        latencies = .allocate(capacity: calls)
    }

    deinit { latencies.deallocate() }

    func run() {
        while !start.pointee.load(ordering: .acquiring) { sched_yield() }
        for call in 0 ..< calls {
            let before = clock.nowNanoseconds
            decide()
            latencies[call] = clock.nowNanoseconds &- before
        }
    }
}

/// Runs `decide` on `threads` OS threads at once; returns the wall time (ns) and the p99 latency.
func hammer(threads: Int, _ decide: @escaping @Sendable () -> Void) -> (wall: Int64, p99: Int64) {
    let start = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: 1)
    start.initialize(to: Atomic(false))
    defer { start.deallocate() }
    let workers = (0 ..< threads).map { _ in Worker(calls: callsPerThread, start: start, decide: decide) }
    var handles: [pthread_t] = []
    for worker in workers {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(worker).toOpaque()
        pthread_create(&handle, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.run()
            return nil
        }, context)
        handles.append(handle)
    }
    let began = clock.nowNanoseconds
    start.pointee.store(true, ordering: .releasing)
    for handle in handles { pthread_join(handle, nil) }
    let wall = clock.nowNanoseconds - began
    var all: [Int64] = []
    all.reserveCapacity(threads * callsPerThread)
    for worker in workers { all.append(contentsOf: UnsafeBufferPointer(start: worker.latencies, count: worker.calls)) }
    all.sort()
    return (wall, all[all.count * 99 / 100])
}

let benchmarks: @Sendable () -> Void = {
    let p99 = BenchmarkMetric.custom("p99 decision (ns)", useScalingFactor: false)
    let throughput = BenchmarkMetric.custom("decisions per ms", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, p99, throughput], timeUnits: .milliseconds, scalingFactor: .one,
        maxDuration: .seconds(20), maxIterations: 7
    )

    for threads in [8, 64] {
        Benchmark("Contention, \(threads) threads: engine (LockedValue)") { benchmark in
            let limiter = try TokenBucketRateLimiter(configuration: configuration, clock: clock)
            let (wall, latency) = hammer(threads: threads) { blackHole((try? limiter.tryAcquire())?.isAllowed) }
            benchmark.measurement(p99, Int(latency))
            benchmark.measurement(throughput, Int(Int64(threads * callsPerThread) * 1_000_000 / max(1, wall)))
        }
        Benchmark("Contention, \(threads) threads: Mutex around the same bucket") { benchmark in
            let bucket = try Mutex(TokenBucket(configuration: configuration, now: clock.nowNanoseconds))
            let (wall, latency) = hammer(threads: threads) {
                let now = clock.nowNanoseconds
                blackHole(bucket.withLock { $0.tryConsume(1, at: now).isAllowed })
            }
            benchmark.measurement(p99, Int(latency))
            benchmark.measurement(throughput, Int(Int64(threads * callsPerThread) * 1_000_000 / max(1, wall)))
        }
    }
}
