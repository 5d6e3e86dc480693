import Bulwark
import BulwarkCore
import BulwarkEngine
import BulwarkTestKit
import BulwarkTestSupport
import Foundation
import Testing

/// A reference start-time fair queue that never forgets a partition: the fair order must take
/// the same decisions while it drops the partitions it no longer needs.
struct ReferenceFairOrder {
    var weights: [String: Int]
    var share: FairWaitOrder.Share
    var finish: [String: Int128] = [:]
    var queues: [String: [WaitTicket]] = [:]
    var start: [String: (tag: Int128, sequence: UInt64)] = [:]
    var virtualTime: Int128 = 0
    var largestFinish: Int128 = 0
    var sequence: UInt64 = 0
    var count: Int { queues.values.reduce(0) { $0 + $1.count } }

    func weight(_ name: String) -> Int128 { Int128(weights[name] ?? 1) }

    mutating func enqueue(_ ticket: WaitTicket) {
        let name = ticket.partitionKey ?? ""
        queues[name, default: []].append(ticket)
        if start[name] == nil {
            start[name] = (max(virtualTime, finish[name] ?? 0), sequence)
            sequence += 1
        }
    }

    func next() -> WaitTicket? {
        start.min { ($0.value.tag, $0.value.sequence) < ($1.value.tag, $1.value.sequence) }.flatMap { queues[$0.key]?.first }
    }

    mutating func remove(id: UInt64, served: Bool) {
        guard let name = queues.first(where: { $0.value.contains { $0.id == id } })?.key,
            let index = queues[name]?.firstIndex(where: { $0.id == id }), let key = start[name]
        else { return }
        let ticket = queues[name]!.remove(at: index)
        guard index == 0 else { return }
        var sequence = key.sequence
        if served {
            virtualTime = max(virtualTime, key.tag)
            let units = Int128(share == .cost ? ticket.cost : 1)
            finish[name] = key.tag + units * (1 << 32) / weight(name)
            largestFinish = max(largestFinish, finish[name]!)
            sequence = self.sequence
            self.sequence += 1
        }
        if queues[name]!.isEmpty {
            queues[name] = nil
            start[name] = nil
        } else {
            start[name] = (max(virtualTime, finish[name] ?? 0), sequence)
        }
        // The end of a busy period: virtual time moves past every finish tag.
        if queues.isEmpty { virtualTime = max(virtualTime, largestFinish) }
    }
}

@Suite("Queue memory", .serialized)
struct QueueMemoryTests {
    @Test("the fair order forgets every partition once its waiters are served, and releases its tables")
    func fairOrderForgets() throws {
        var order = try FairWaitOrder()
        // One waiter at a time on each of 20,000 keys: the queue empties after each.
        for id in 0 ..< 20_000 as Range<UInt64> {
            order.enqueue(ticket(id, partition: "key-\(id)"))
            let head = try #require(order.next(at: 0))
            order.removeServed(head)
        }
        #expect(order.trackedPartitions == 0)
        // 20,000 keys waiting at once, then served.
        for id in 0 ..< 20_000 as Range<UInt64> { order.enqueue(ticket(id, partition: "key-\(id)")) }
        #expect(order.trackedPartitions == 20_000)
        while let head = order.next(at: 0) { order.removeServed(head) }
        #expect(order.trackedPartitions == 0)
        // Small tables (64 entries or fewer) are kept, so one waiter at a time allocates nothing.
        #expect(order.reservedCapacity <= 3 * 64)
        // The same, leaving unserved (timed out).
        for id in 0 ..< 20_000 as Range<UInt64> { order.enqueue(ticket(id, partition: "key-\(id)")) }
        for id in 0 ..< 20_000 as Range<UInt64> { order.remove(ticket(id, partition: "key-\(id)")) }
        #expect(order.trackedPartitions == 0 && order.reservedCapacity <= 3 * 64)
    }

    @Test("the fair order takes the decisions of one that never forgets a partition", arguments: [FairWaitOrder.Share.cost, .count])
    func fairOrderForgetsNothingThatMatters(share: FairWaitOrder.Share) throws {
        var order = try FairWaitOrder(weights: ["k0": 3, "k1": 2], share: share)
        var reference = ReferenceFairOrder(weights: ["k0": 3, "k1": 2], share: share)
        var random = SplitMix64(seed: 18)
        var queued: [WaitTicket] = []
        var nextID: UInt64 = 0
        for step in 0 ..< 5_000 {
            let roll = random.next() % 10
            if roll < 4 || queued.isEmpty {
                // Mostly light keys seen once or twice, a few heavy ones.
                let key = random.next() % 3 == 0 ? "k\(random.next() % 4)" : "light-\(random.next() % 400)"
                let newcomer = ticket(nextID, cost: Int(random.next() % 5), partition: key)
                nextID += 1
                order.enqueue(newcomer)
                reference.enqueue(newcomer)
                queued.append(newcomer)
            } else if roll < 8 {
                let head = try #require(order.next(at: 0))
                #expect(head.id == reference.next()?.id, "step \(step)")
                order.removeServed(head)
                reference.remove(id: head.id, served: true)
                queued.removeAll { $0.id == head.id }
            } else {
                let leaving = queued.remove(at: Int(random.next() % UInt64(queued.count)))
                order.remove(leaving)
                reference.remove(id: leaving.id, served: false)
            }
            #expect(order.count == reference.count)
            guard order.next(at: 0)?.id == reference.next()?.id else {
                Issue.record("step \(step): the order serves \(String(describing: order.next(at: 0))), the reference \(String(describing: reference.next()))")
                break
            }
        }
        #expect(order.trackedPartitions <= 400 + 4)
    }

    /// Every order meets the 200-byte target (about 173 bytes FIFO and fair, 197 priority and
    /// deadline, whose tree keeps the ticket itself), and gives its storage back once drained.
    /// Weighed in a child process (`Tests/MemoryProbe`): glibc's counters count the whole process,
    /// and other suites allocate while this one runs.
    @Test(
        "a job queue keeps at most 200 bytes a job beyond the payload, and gives them back once drained",
        arguments: ["FIFO", "fair", "priority", "deadline"]
    )
    func jobQueueBytes(order name: String) async throws {
        // A quarter of a million: every table and array then stands at the same fraction of its
        // capacity as at a million (each size is 4 = 2² times the other), so the bytes a job are
        // the million's (the Queues benchmark measures the million itself) in a quarter of the time.
        let probe = builtExecutable("bulwark-memory-probe")
        let (output, status) = try await offPool { () throws -> (String, Int32) in
            let process = Process()
            process.executableURL = probe
            process.arguments = [name, "250000"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (output, process.terminationStatus)
        }
        #expect(status == 0)
        // Under the thread sanitizer malloc is not glibc's: the probe runs, but nothing is weighed.
        guard output.trimmingCharacters(in: .whitespacesAndNewlines) != "unmeasurable" else { return }
        let figures = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        let (perJob, kept) = try (#require(figures.first), #require(figures.dropFirst().first))
        print("job queue (\(name)): \(Int(perJob)) bytes a job beyond the payload; \(Int(kept)) bytes kept after the drain")
        #expect(perJob <= 200)
        #expect(kept < 256 * 1024)
    }
}

