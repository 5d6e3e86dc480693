// Scale curves: the time of one operation and the resident bytes of one entry for the waiting
// orders and the job queue, the partitioned limiter, and a limiter's waiting room, each at 10^3,
// 10^4, 10^5 and 10^6 entries.
//
// Every benchmark is named "Scale: <structure>: <operation>, n=<entries>", which
// `Benchmarks/performance.py` parses into a table and a chart per structure. The entries are built
// once, in the benchmark's setup (package-benchmark runs each benchmark in a process of its own, so
// nothing another benchmark freed is reused unseen); every timed iteration does 1,000 operations
// that leave the count at n, and the wall clock and mallocs are per operation. "bytes per entry" is
// the growth of resident memory while the entries were built, divided by n, after handing the
// allocator's free memory back to the system (the Partitioned suite's method): it includes the
// allocator's overhead and the hash tables' spare capacity, which is what a deployment pays. At
// n = 1,000 a page more or less moves it by 4 bytes.
#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import BenchmarkSupport
import BulwarkCore
import BulwarkEngine
import BulwarkPartitioned
import BulwarkQueues
import BulwarkTokenBucket
import Synchronization

let sizes = [1_000, 10_000, 100_000, 1_000_000]
let bytesPerEntry = BenchmarkMetric.custom("bytes per entry", polarity: .prefersSmaller, useScalingFactor: false)

/// What a benchmark's setup built, kept until its teardown, and what it cost in memory.
final class Box<Value>: @unchecked Sendable {
    var value: Value?
    var bytesPerEntry = 0
    var next: UInt64 = 0
    init() {}
}

/// 1,000 operations per iteration, so an iteration at 10^6 entries is still well above the clock's
/// resolution; few iterations, since the setup at 10^6 takes seconds.
func configuration(_ size: Int) -> Benchmark.Configuration {
    .init(
        metrics: standardMetrics + [bytesPerEntry], timeUnits: .nanoseconds, scalingFactor: .kilo,
        maxDuration: .seconds(1), maxIterations: size >= 1_000_000 ? 30 : 200
    )
}


/// Builds `count` entries with `build` and returns what it built and the resident bytes per entry.
func measured<Value>(_ count: Int, _ build: () async throws -> Value) async rethrows -> (Value, Int) {
    let before = residentBytes()
    let value = try await build()
    return (value, max(0, residentBytes() - before) / count)
}

/// A seeded mix of the bits of `value`, so every run draws the same deadlines.
func mix(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

// MARK: - The waiting orders and the job queue

let partitions = ["a", "b", "c", "d", "e", "f", "g", "h"]
let farFuture: Int64 = 1 << 60

/// A ticket with a random (seeded) deadline far ahead: one shared or increasing deadline would
/// make every insertion into the deadline order land at its end.
func ticket(_ id: UInt64) -> WaitTicket {
    WaitTicket(
        id: id, cost: Int(id % 7) + 1, priority: Priority(rawValue: Int(id % 4) * 100 - 100),
        partitionKey: partitions[Int(id % 8)], enqueuedAt: Int64(id), deadline: farFuture + Int64(mix(id) % (1 << 40))
    )
}

/// The job queue's deadline for job `index`, drawn as the tickets' are.
func deadline(_ index: Int) -> Deadline { .at(NanosecondInstant(nanoseconds: farFuture + Int64(mix(UInt64(index)) % (1 << 40)))) }

/// Enqueue two, serve one, remove one (a timeout or a cancellation), on an order holding `size`.
func orderBenchmark<O: WaitOrder>(_ name: String, size: Int, _ make: @escaping @Sendable () throws -> O) {
    let box = Box<O>()
    Benchmark(
        "Scale: queues: \(name), enqueue 2 + serve + remove, n=\(size)", configuration: configuration(size),
        closure: { benchmark in
            // Taken out of the box while it changes, so its storage is not copied.
            guard var order = box.value.take() else { return }
            box.next = orderRounds(&order, count: benchmark.scaledIterations.count, from: box.next, ticket: ticket)
            blackHole(order.count)
            box.value = order
            benchmark.measurement(bytesPerEntry, box.bytesPerEntry)
        },
        setup: {
            (box.value, box.bytesPerEntry) = try await measured(size) {
                var order = try make()
                for id in 0 ..< UInt64(size) { order.enqueue(ticket(id)) }
                return order
            }
            box.next = UInt64(size)
        },
        teardown: { box.value = nil }
    )
}

/// The same round through the job queue's API (which also keeps the jobs by id and by deadline).
func jobQueueBenchmark(size: Int) {
    let box = Box<JobQueue<Int, ContinuousClock>>()
    Benchmark(
        "Scale: queues: JobQueue (FIFO, random deadlines), enqueue 2 + dequeue + cancel, n=\(size)", configuration: configuration(size),
        closure: { benchmark in
            guard let queue = box.value else { return }
            let start = Int(box.next)
            for index in benchmark.scaledIterations {
                let job = start + 2 * index
                _ = try? queue.enqueue(job, priority: .normal, partitionKey: partitions[job % 8], cost: 1, deadline: deadline(job))
                let second = try? queue.enqueue(job, priority: .low, partitionKey: partitions[job % 8], cost: 1, deadline: deadline(job + 1))
                blackHole(queue.tryDequeue())
                if let second { blackHole(queue.cancel(id: second)) }
            }
            box.next += UInt64(2 * benchmark.scaledIterations.count)
            benchmark.measurement(bytesPerEntry, box.bytesPerEntry)
        },
        setup: {
            (box.value, box.bytesPerEntry) = try await measured(size) {
                let queue = try JobQueue<Int, ContinuousClock>(order: FIFOWaitOrder(), capacity: size + 2)
                for index in 0 ..< size {
                    try queue.enqueue(index, priority: .normal, partitionKey: partitions[index % 8], deadline: deadline(index))
                }
                return queue
            }
            box.next = UInt64(size)
        },
        teardown: { box.value = nil }
    )
}

// MARK: - The partitioned limiter

/// A bucket per key that a benchmark never empties; it starts below capacity, so a partition is
/// never equivalent to a fresh one and none is dropped.
let bucket = TokenBucket.Configuration(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1), initialTokens: 500_000_000)

/// A permitted `tryAcquire` on a random key among `size` live ones. The String keys
/// (`user-1000000`) are short enough to be stored inline, so a key costs no allocation of its own;
/// reading the key from its array is one more random read at large n, as a server's would be.
func partitionedBenchmark<Key: Hashable & Sendable>(_ name: String, size: Int, keys makeKeys: @escaping @Sendable (Int) -> [Key]) {
    let box = Box<(PartitionedRateLimiter<Key, TokenBucket, ContinuousClock>, [Key])>()
    Benchmark(
        "Scale: partitioned: tryAcquire permitted, random \(name) key, n=\(size)", configuration: configuration(size),
        closure: { benchmark in
            guard let (limiter, keys) = box.value else { return }
            var index = Int(box.next)
            for _ in benchmark.scaledIterations {
                index = (index &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
                blackHole(try limiter.tryAcquire(keys[index % size]).isAllowed)
            }
            box.next = UInt64(index)
            benchmark.measurement(bytesPerEntry, box.bytesPerEntry)
        },
        setup: {
            let keys = makeKeys(size)  // made before the measurement: the table's copies are what counts
            let (limiter, bytes) = try await measured(size) {
                let limiter = try PartitionedRateLimiter<Key, TokenBucket, ContinuousClock>(
                    configuration: bucket, maximumPartitions: size, shards: 64
                )
                for key in keys { _ = try limiter.tryAcquire(key) }
                precondition(limiter.partitionCount == size && limiter.forcedEvictionCount == 0)
                return limiter
            }
            box.value = (limiter, keys)
            box.bytesPerEntry = bytes
            box.next = 12_345
        },
        teardown: { box.value = nil }
    )
}

// MARK: - The waiting room

/// An empty bucket that gains one token an hour: every `acquire` waits, and the queue's predicted
/// waits (up to 2 × 10^6 hours in nanoseconds) still fit an Int64.
func emptyLimiter() throws -> TokenBucketRateLimiter<ContinuousClock> {
    try TokenBucketRateLimiter(
        configuration: .init(capacity: 1, refill: 1, every: .seconds(3_600), initialTokens: 0), queueLimit: 2_000_100
    )
}

/// Where the bare tasks of the baseline wait: one `UnsafeContinuation` each (a pointer, what the
/// waiting room also keeps per waiter), so the baseline is the task and nothing else.
final class Parking: Sendable {
    let continuations = Mutex<[UnsafeContinuation<Void, Never>]>([])
    var count: Int { continuations.withLock { $0.count } }
    func park() async { await withUnsafeContinuation { continuation in continuations.withLock { $0.append(continuation) } } }
    /// Resumes the last `count` parked tasks, or all of them.
    func release(last count: Int = .max) {
        let released = continuations.withLock { parked in
            let tail = Array(parked.suffix(count))
            parked.removeLast(tail.count)
            return tail
        }
        for continuation in released { continuation.resume() }
    }
}

/// How the waiters of a benchmark wait: on the limiter (`acquire` with no deadline, left by
/// cancellation) or, for the baseline, parked with nothing but their continuation.
enum Crowd: Sendable {
    case limiter(TokenBucketRateLimiter<ContinuousClock>)
    case parking(Parking)

    var waiting: Int {
        switch self {
        case .limiter(let limiter): limiter.waitingCount
        case .parking(let parking): parking.count
        }
    }

    func wait() async {
        switch self {
        case .limiter(let limiter): _ = try? await limiter.acquire(cost: 1, options: WaitOptions())
        case .parking(let parking): await parking.park()
        }
    }

    /// Resumes the last `count` parked tasks (a limiter's waiters leave when cancelled instead).
    func resumeParked(last count: Int = .max) {
        if case .parking(let parking) = self { parking.release(last: count) }
    }

    /// Waits until `count` tasks wait: they are suspended, their entries made.
    func settle(at count: Int) async {
        while waiting < count { await Task.yield() }
    }
}

/// `size` tasks that wait in the background of the timed iterations, and a parent to end them.
func gather(_ crowd: Crowd, size: Int) async -> Task<Void, Never> {
    // Children of a discarding group are freed as they end, and no handle per task is kept, so
    // the bytes measured are the tasks' and their entries'.
    let parent = Task {
        await withDiscardingTaskGroup { group in
            for _ in 0 ..< size { group.addTask { await crowd.wait() } }
        }
    }
    await crowd.settle(at: size)
    return parent
}

/// With `size` tasks waiting, each iteration makes 1,000 more join and leave: a waiter's whole
/// life (task created, `acquire` suspended and queued, cancelled, withdrawn, resumed, ended), or,
/// for the baseline, a bare task parked and resumed. The difference is what the waiting room
/// adds to the task; so for the bytes.
///
/// 10^6 suspended tasks are affordable here: on the 2-core reference VM the two benchmarks at
/// n = 10^6 take about 55 s together (setup, 10 iterations, teardown) and the process peaks at
/// 3.9 GB resident, within the 60 s and 8 GB that would have made us stop at 10^5.
func waitingRoomBenchmark(_ name: String, size: Int, _ make: @escaping @Sendable () throws -> Crowd) {
    let box = Box<(Crowd, Task<Void, Never>)>()
    var settings = configuration(size)
    settings.maxIterations = size >= 1_000_000 ? 10 : 100
    Benchmark(
        "Scale: waiting room: \(name), n=\(size)", configuration: settings,
        closure: { benchmark in
            guard let (crowd, _) = box.value else { return }
            let extra = benchmark.scaledIterations.count
            await withDiscardingTaskGroup { group in
                for _ in 0 ..< extra { group.addTask { await crowd.wait() } }
                await crowd.settle(at: size + extra)
                group.cancelAll()
                crowd.resumeParked(last: extra)
            }
            benchmark.measurement(bytesPerEntry, box.bytesPerEntry)
        },
        setup: {
            let crowd = try make()
            let (parent, bytes) = await measured(size) { await gather(crowd, size: size) }
            box.value = (crowd, parent)
            box.bytesPerEntry = bytes
        },
        teardown: {
            guard let (crowd, parent) = box.value.take() else { return }
            parent.cancel()
            crowd.resumeParked()
            await parent.value
        }
    )
}

let benchmarks: @Sendable () -> Void = {
    for size in sizes {
        orderBenchmark("FIFO order", size: size) { FIFOWaitOrder() }
        orderBenchmark("priority order (ageing)", size: size) { try PriorityWaitOrder(ageing: PriorityAgeing(every: .milliseconds(10))) }
        orderBenchmark("fair order (8 partitions)", size: size) { try FairWaitOrder() }
        orderBenchmark("deadline order", size: size) { DeadlineWaitOrder() }
        jobQueueBenchmark(size: size)
    }
    for size in sizes {
        partitionedBenchmark("String", size: size) { size in (0 ..< size).map { "user-\(1_000_000 + $0)" } }
        partitionedBenchmark("Int", size: size) { size in Array(0 ..< size) }
    }
    for size in sizes {
        waitingRoomBenchmark("acquire waiter (join + cancel)", size: size) { .limiter(try emptyLimiter()) }
        waitingRoomBenchmark("bare task baseline (park + resume)", size: size) { .parking(Parking()) }
    }
}
