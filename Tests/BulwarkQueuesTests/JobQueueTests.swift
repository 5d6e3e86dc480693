import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Job queue")
struct JobQueueTests {
    typealias Removal = (id: UInt64, reason: JobQueueRemoval)

    func queue(
        order: any WaitOrder = FIFOWaitOrder(), capacity: Int = 10, overflow: JobQueueOverflow = .rejectNewest
    ) throws -> (ManualClock, JobQueue<String, ManualClock>, Journal<Removal>) {
        let clock = ManualClock()
        let removals = Journal<Removal>()
        let queue = try JobQueue<String, ManualClock>(order: order, capacity: capacity, overflow: overflow, clock: clock) {
            removals.append(($0.id, $1))
        }
        return (clock, queue, removals)
    }

    @Test("a priority queue serves the most urgent first; a fair queue alternates tenants")
    func orders() throws {
        let (_, priority, _) = try queue(order: try PriorityWaitOrder())
        try priority.enqueue("low", priority: .low)
        try priority.enqueue("high", priority: .high)
        try priority.enqueue("normal")
        #expect([priority.tryDequeue(), priority.tryDequeue(), priority.tryDequeue()].map { $0?.job } == ["high", "normal", "low"])
        #expect(priority.tryDequeue() == nil)

        let (_, fair, _) = try queue(order: try FairWaitOrder())
        for index in 0 ..< 4 { try fair.enqueue("a\(index)", partitionKey: "a") }
        try fair.enqueue("b0", partitionKey: "b")
        try fair.enqueue("b1", partitionKey: "b")
        let served = (0 ..< 6).compactMap { _ in fair.tryDequeue()?.job }
        #expect(served == ["a0", "b0", "a1", "b1", "a2", "a3"])
    }

    @Test("overflow: reject newest, drop oldest, reject lowest priority; nothing leaves silently")
    func overflow() throws {
        let (_, newest, _) = try queue(capacity: 2)
        try newest.enqueue("1")
        try newest.enqueue("2")
        #expect(throws: BulwarkError.queueFull(limit: 2)) { try newest.enqueue("3") }
        #expect(newest.count == 2)

        let (_, oldest, dropped) = try queue(capacity: 2, overflow: .dropOldest)
        let first = try oldest.enqueue("1")
        try oldest.enqueue("2")
        try oldest.enqueue("3")
        #expect(dropped.all.map(\.id) == [first] && dropped.all.map(\.reason) == [.dropped])
        #expect([oldest.tryDequeue()?.job, oldest.tryDequeue()?.job] == ["2", "3"])

        let (_, lowest, evicted) = try queue(order: try PriorityWaitOrder(), capacity: 2, overflow: .rejectLowestPriority)
        try lowest.enqueue("low-1", priority: .low)
        let newestLow = try lowest.enqueue("low-2", priority: .low)
        #expect(throws: BulwarkError.queueFull(limit: 2)) { try lowest.enqueue("low-3", priority: .low) }
        try lowest.enqueue("high", priority: .high)
        #expect(evicted.all.map(\.id) == [newestLow])
        #expect([lowest.tryDequeue()?.job, lowest.tryDequeue()?.job] == ["high", "low-1"])
    }

    @Test("a job still queued at its deadline expires at that exact reading, through the callback")
    func expiry() async throws {
        let (clock, queue, removals) = try queue()
        let late = try queue.enqueue("late", deadline: .at(NanosecondInstant(nanoseconds: 2_000_000_000)))
        let soon = try queue.enqueue("soon", deadline: .at(NanosecondInstant(nanoseconds: 1_000_000_000)))
        try queue.enqueue("never")
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 1_000_000_000))
        clock.advance(by: .milliseconds(999))
        #expect(removals.all.isEmpty)
        clock.advance(by: .milliseconds(1))
        await eventually { removals.all.count == 1 }
        #expect(removals.all.map(\.id) == [soon] && queue.count == 2)
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        clock.advance(by: .seconds(5))
        await eventually { removals.all.count == 2 }
        #expect(removals.all.map(\.id) == [soon, late] && removals.all.allSatisfy { $0.reason == .expired })
        #expect(queue.tryDequeue()?.job == "never")
        #expect(throws: BulwarkError.waitTimedOut) { try queue.enqueue("past", deadline: .at(NanosecondInstant(nanoseconds: 1))) }
    }

    @Test("cancel by id; close stops intake and ends waiting dequeuers; removeAll hands back in order")
    func cancelCloseHandBack() async throws {
        let (_, queue, _) = try queue(order: try PriorityWaitOrder())
        let a = try queue.enqueue("a")
        try queue.enqueue("b", priority: .high)
        try queue.enqueue("c")
        #expect(queue.cancel(id: a)?.job == "a")
        #expect(queue.cancel(id: a) == nil)
        #expect(queue.removeAll().map(\.job) == ["b", "c"])
        let waiting = Task { try await queue.dequeue() }
        await eventually { queue.isWaitingForJobs }
        queue.close()
        #expect(try await waiting.value == nil)
        #expect(throws: BulwarkError.shutDown) { try queue.enqueue("d") }
    }

    @Test("a waiting dequeuer receives the next job; cancelling it leaves no dequeuer behind")
    func waitingDequeue() async throws {
        let (_, queue, _) = try queue()
        let first = Task { try await queue.dequeue()?.job }
        await eventually { queue.isWaitingForJobs }
        try queue.enqueue("x")
        #expect(try await first.value == "x")
        let second = Task { try await queue.dequeue()?.job }
        await eventually { queue.isWaitingForJobs }
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(!queue.isWaitingForJobs)
        try queue.enqueue("y")
        #expect(queue.count == 1)
    }

    @Test("bad input names the field and the rule")
    func badInput() throws {
        #expect(throws: BulwarkError.invalidConfiguration(field: "capacity", rule: "must be at least 0 (got -1)")) {
            try JobQueue<Int, ManualClock>(capacity: -1, clock: ManualClock())
        }
        var used = FIFOWaitOrder()
        used.enqueue(ticket(1))
        #expect(throws: BulwarkError.invalidConfiguration(field: "order", rule: "must be empty (holds 1)")) {
            try JobQueue<Int, ManualClock>(order: used, capacity: 1, clock: ManualClock())
        }
        let (_, queue, _) = try queue()
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at least 0 (got -1)")) { try queue.enqueue("x", cost: -1) }
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at most \((Int.max / 2) / 11) (got \(Int.max))")) {
            try queue.enqueue("x", cost: .max)
        }
    }

    @Test("stress: producers, consumers, cancellations and expiries lose no job and answer every dequeuer")
    func stress() async throws {
        let clock = ManualClock()
        let expired = Counter()
        let queue = try JobQueue<Int, ManualClock>(order: try FairWaitOrder(), capacity: 100, overflow: .dropOldest, clock: clock) { _, _ in
            expired.add(1)
        }
        let produced = Counter()
        let refused = Counter()
        let consumed = Counter()
        let cancelled = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for consumer in 0 ..< 4 {
                group.addTask {
                    while let _ = try await queue.dequeue() { consumed.add(1) }
                    _ = consumer
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { producers in
                for producer in 0 ..< 4 {
                    producers.addTask {
                        for index in 0 ..< 2_000 {
                            do {
                                let id = try queue.enqueue(
                                    index, partitionKey: "p\(producer)", deadline: index % 7 == 0 ? .at(NanosecondInstant(nanoseconds: Int64(index))) : nil
                                )
                                produced.add(1)
                                if index % 11 == 0, queue.cancel(id: id) != nil { cancelled.add(1) }
                            } catch {
                                refused.add(1)
                            }
                            if index % 100 == 0 { clock.advance(by: .nanoseconds(50)) }
                        }
                    }
                }
                try await producers.waitForAll()
            }
            clock.advance(by: .seconds(1))
            await eventually { queue.count == 0 }
            queue.close()
            try await group.waitForAll()
        }
        #expect(produced.value + refused.value == 8_000)
        #expect(produced.value == consumed.value + cancelled.value + expired.value)
    }
}
