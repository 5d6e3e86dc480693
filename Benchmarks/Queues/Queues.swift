// The waiting orders and the job queues at 10, 10,000 and 1,000,000 items, and the dead-letter
// journal's appends at each fsync policy.
//
// Every order benchmark keeps its size constant: one iteration enqueues two tickets, serves the
// head and removes the second one unserved (a timeout or a cancellation). The job queue's
// iteration does the same through its public API, with deadlines, so the deadline tree is
// exercised too: it is the storage of every limiter's waiting room.
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
            var next = box.next
            for _ in benchmark.scaledIterations {
                order.enqueue(ticket(next))
                order.enqueue(ticket(next + 1))
                if let head = order.next(at: Int64(next)) { order.removeServed(id: head.id) }
                order.remove(id: next + 1)
                next += 2
            }
            blackHole(order.count)
            box.next = next
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
            let deadline = Deadline.at(NanosecondInstant(nanoseconds: 1 << 60))
            for index in benchmark.scaledIterations {
                let partition = partitions[index % 8]
                _ = try? queue.enqueue(index, priority: .normal, partitionKey: partition, cost: 1, deadline: deadline)
                let second = try? queue.enqueue(index, priority: .low, partitionKey: partition, cost: 1, deadline: deadline)
                blackHole(queue.tryDequeue())
                if let second { blackHole(queue.cancel(id: second)) }
            }
        },
        setup: {
            let queue = try JobQueue<Int, ContinuousClock>(order: try order(), capacity: size + 2)
            for index in 0 ..< size {
                try queue.enqueue(
                    index, priority: Priority(rawValue: index % 3), partitionKey: partitions[index % 8],
                    deadline: .at(NanosecondInstant(nanoseconds: 1 << 60))
                )
            }
            box.value = queue
        },
        teardown: { box.value = nil }
    )
}

let benchmarks: @Sendable () -> Void = {
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
