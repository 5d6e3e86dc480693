// The waiting orders and the job queues at 10, 10,000 and 1,000,000 items, and the dead-letter
// journal's appends at each fsync policy.
//
// Every order benchmark keeps its size constant: one iteration enqueues two tickets, serves the
// head and removes the second one unserved (a timeout or a cancellation). The job queue's
// iteration does the same through its public API, with random (seeded) deadlines, so the deadline
// heap and the deadline order see a realistic mix (one shared deadline would make every insertion
// land at the end, and hid a 3.3x slower enqueue).
//
// The memory benchmarks fill a fair order with one waiter on each of a million distinct keys and a
// job queue with a million jobs, then drain them, and report the bytes allocated per partition or
// per job (glibc's mallinfo2), what stays allocated after the drain, and resident memory after the
// drain as a percentage of before.
import Benchmark
import BenchmarkSupport
import BulwarkCore
import BulwarkQueues
import Foundation

/// Holds what a benchmark's setup built until its teardown frees it (a million tickets each):
/// created empty when the benchmark is registered, filled by its setup.
final class Box<Value>: @unchecked Sendable {
    var value: Value?
    var next: UInt64 = 0
    init() {}
}

let sizes = [10, 10_000, 1_000_000]

/// A small seeded generator, so every run draws the same deadlines.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A million random deadlines far in the future (so none expires during a run), drawn once.
let randomDeadlines: [Deadline] = {
    var random = SplitMix(seed: 2026)
    return (0 ..< 1 << 20).map { _ in .at(NanosecondInstant(nanoseconds: (1 << 60) + Int64(random.next() % (1 << 40)))) }
}()

func randomDeadline(_ index: Int) -> Deadline { randomDeadlines[index & (1 << 20 - 1)] }
let partitions = ["a", "b", "c", "d", "e", "f", "g", "h"]

func ticket(_ id: UInt64) -> WaitTicket {
    WaitTicket(
        id: id, cost: Int(id % 7) + 1, priority: Priority(rawValue: Int(id % 4) * 100 - 100),
        partitionKey: partitions[Int(id % 8)], enqueuedAt: Int64(id), deadline: Int64(id) + 1_000_000
    )
}

func thousand() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: standardMetrics, timeUnits: .nanoseconds, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000
    )
}

/// Enqueue two, serve one, remove one, on an order holding `size` tickets.
func orderBenchmark<O: WaitOrder>(_ name: String, size: Int, _ make: @escaping @Sendable () throws -> O) {
    let box = Box<O>()
    Benchmark(
        "\(name) n=\(size): enqueue + serve + remove", configuration: thousand(),
        closure: { benchmark in
            // Taken out of the box while it changes, so its storage is not copied.
            guard var order = box.value.take() else { return }
            box.next = orderRounds(&order, count: benchmark.scaledIterations.count, from: box.next, ticket: ticket)
            blackHole(order.count)
            box.value = order
        },
        setup: {
            var order = try make()
            for id in 0 ..< UInt64(size) { order.enqueue(ticket(id)) }
            box.value = order
            box.next = UInt64(size)
        },
        teardown: { box.value = nil }
    )
}

/// Enqueue (with a deadline) two, dequeue one, cancel one, on a job queue holding `size` jobs.
func jobQueueBenchmark(_ name: String, size: Int, _ order: @escaping @Sendable () throws -> any WaitOrder) {
    let box = Box<JobQueue<Int, ContinuousClock>>()
    Benchmark(
        "JobQueue \(name) n=\(size): enqueue + dequeue + cancel", configuration: thousand(),
        closure: { benchmark in
            guard let queue = box.value else { return }
            for index in benchmark.scaledIterations {
                let partition = partitions[index % 8]
                _ = try? queue.enqueue(index, priority: .normal, partitionKey: partition, cost: 1, deadline: randomDeadline(2 * index))
                let second = try? queue.enqueue(
                    index, priority: .low, partitionKey: partition, cost: 1, deadline: randomDeadline(2 * index + 1)
                )
                blackHole(queue.tryDequeue())
                if let second { blackHole(queue.cancel(id: second)) }
            }
        },
        setup: {
            let queue = try JobQueue<Int, ContinuousClock>(order: try order(), capacity: size + 2)
            for index in 0 ..< size {
                try queue.enqueue(
                    index, priority: Priority(rawValue: index % 3), partitionKey: partitions[index % 8],
                    deadline: randomDeadline(index + 12_345)
                )
            }
            box.value = queue
        },
        teardown: { box.value = nil }
    )
}

/// The bytes the process has allocated from malloc (small blocks and mapped ones), from glibc's
/// `mallinfo2`, which the Glibc module does not import: called through its address, with the
/// x86-64 convention for a returned structure (the caller's buffer, in the first argument).
func allocatedBytes() -> Int {
    typealias MallInfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
    guard let symbol = dlsym(nil, "mallinfo2") else { return 0 }
    var fields = [Int](repeating: 0, count: 10)  // arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
    fields.withUnsafeMutableBytes { _ = unsafeBitCast(symbol, to: MallInfo2.self)($0.baseAddress!) }
    return fields[7] + fields[4]
}

/// The process's resident memory, in bytes.
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let bytesEach = BenchmarkMetric.custom("bytes each (allocated, full)", polarity: .prefersSmaller, useScalingFactor: false)
let bytesKept = BenchmarkMetric.custom("bytes kept after the drain", polarity: .prefersSmaller, useScalingFactor: false)
let residentRatio = BenchmarkMetric.custom("RSS after drain / before (%)", polarity: .prefersSmaller, useScalingFactor: false)

/// Fills something with a million items, drains it, and reports bytes per item and what stays.
func memoryBenchmark(_ name: String, fill: @escaping @Sendable () throws -> (drain: () -> Void, keep: Any)) {
    Benchmark(
        "\(name): memory at n=1,000,000",
        configuration: Benchmark.Configuration(
            metrics: [.wallClock, .mallocCountTotal, bytesEach, bytesKept, residentRatio], timeUnits: .milliseconds,
            maxDuration: .seconds(10), maxIterations: 3
        )
    ) { benchmark in
        let resident = residentBytes()
        let before = allocatedBytes()
        let (drain, keep) = try fill()
        let full = allocatedBytes()
        drain()
        let after = allocatedBytes()
        let residentAfter = residentBytes()
        withExtendedLifetime(keep) {}
        benchmark.measurement(bytesEach, (full - before) / 1_000_000)
        benchmark.measurement(bytesKept, after - before)
        benchmark.measurement(residentRatio, residentAfter * 100 / max(resident, 1))
    }
}

let benchmarks: @Sendable () -> Void = {
    memoryBenchmark("Fair order, one waiter on each of a million keys (bytes per partition)") {
        var order = try FairWaitOrder()
        for id in 0 ..< 1_000_000 as Range<UInt64> {
            order.enqueue(WaitTicket(id: id, cost: 1, priority: .normal, partitionKey: "key-\(id)", enqueuedAt: 0))
        }
        let box = Box<FairWaitOrder>()
        box.value = order
        return ({
            guard var order = box.value.take() else { return }
            while let head = order.next(at: 0) { order.removeServed(head) }
            box.value = order
        }, box)
    }
    for name in ["FIFO", "fair, 8 partitions", "priority", "deadline"] {
        let order: @Sendable () throws -> any WaitOrder = {
            switch name {
            case "FIFO": FIFOWaitOrder()
            case "priority": try PriorityWaitOrder(ageing: PriorityAgeing(every: .milliseconds(10)))
            case "deadline": DeadlineWaitOrder()
            default: try FairWaitOrder()
            }
        }
        memoryBenchmark("JobQueue \(name), random deadlines, Int payload (bytes per job)") {
            let queue = try JobQueue<Int, ContinuousClock>(order: try order(), capacity: 1_000_000)
            for index in 0 ..< 1_000_000 {
                try queue.enqueue(
                    index, priority: Priority(rawValue: index % 3), partitionKey: partitions[index % 8], deadline: randomDeadline(index)
                )
            }
            return ({ while queue.tryDequeue() != nil {} }, queue)
        }
    }

    for size in sizes {
        orderBenchmark("FIFO", size: size) { FIFOWaitOrder() }
        orderBenchmark("LIFO", size: size) { LIFOWaitOrder() }
        orderBenchmark("Priority (ageing)", size: size) { try PriorityWaitOrder(ageing: PriorityAgeing(every: .milliseconds(10))) }
        orderBenchmark("Fair (8 partitions, by cost)", size: size) { try FairWaitOrder(weights: ["a": 4, "b": 2]) }
        orderBenchmark("Deadline", size: size) { DeadlineWaitOrder() }
    }
    for size in sizes {
        jobQueueBenchmark("FIFO", size: size) { FIFOWaitOrder() }
        jobQueueBenchmark("priority", size: size) { try PriorityWaitOrder(ageing: PriorityAgeing(every: .milliseconds(10))) }
        jobQueueBenchmark("fair", size: size) { try FairWaitOrder() }
        jobQueueBenchmark("deadline", size: size) { DeadlineWaitOrder() }
    }

    // The journal: one append (a 200-byte job) per call, at each fsync policy.
    for (name, sync) in [("always", JournalDeadLetterStore.SyncPolicy.always), ("every 64", .every(appends: 64)), ("never", .never)] {
        let box = Box<JournalDeadLetterStore>()
        let path = NSTemporaryDirectory() + "bulwark-journal-\(name.replacingOccurrences(of: " ", with: "-")).\(getpid())"
        Benchmark(
            "Journal append, fsync \(name)",
            configuration: Benchmark.Configuration(
                metrics: standardMetrics + [.throughput], timeUnits: .microseconds, maxDuration: .seconds(3), maxIterations: 20_000
            ),
            closure: { benchmark in
                guard let store = box.value else { return }
                let record = DeadLetterRecord(
                    id: 0, payload: String(repeating: "x", count: 200), error: "upstream 503", attempts: 3, priority: 0,
                    partitionKey: "tenant-a", submittedAt: 0, failedAt: 0
                )
                for _ in benchmark.scaledIterations {
                    blackHole(try? await store.add(record))
                }
            },
            setup: {
                unlink(path)
                box.value = try JournalDeadLetterStore(path: path, sync: sync, compactAfter: 1 << 40)
            },
            teardown: {
                box.value = nil
                unlink(path)
            }
        )
    }
}
