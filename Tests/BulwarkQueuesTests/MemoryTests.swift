import Bulwark
import BulwarkCore
import BulwarkTestKit
import Glibc
import Testing

/// Whether the bytes malloc has handed out can be read here: glibc's malloc on x86-64, not the
/// thread sanitizer's allocator (which glibc's counters do not see).
let mallocIsMeasurable: Bool = {
    #if arch(x86_64)
    return dlsym(nil, "mallinfo2") != nil && dlsym(nil, "__tsan_init") == nil
    #else
    return false
    #endif
}()

/// The bytes the process has allocated from malloc (small blocks and mapped ones), from glibc's
/// `mallinfo2`, which the Glibc module does not import: called through its address, with the
/// x86-64 convention for a returned structure (the caller's buffer, in the first argument). Only
/// called where ``mallocIsMeasurable``.
func allocatedBytes() -> Int {
    typealias MallInfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
    guard mallocIsMeasurable, let symbol = dlsym(nil, "mallinfo2") else { return 0 }
    let call = unsafeBitCast(symbol, to: MallInfo2.self)
    var fields = [Int](repeating: 0, count: 10)  // arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
    fields.withUnsafeMutableBytes { _ = call($0.baseAddress!) }
    return fields[7] + fields[4]
}

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
            order.removeServed(id: head.id)
        }
        #expect(order.trackedPartitions == 0)
        // 20,000 keys waiting at once, then served.
        for id in 0 ..< 20_000 as Range<UInt64> { order.enqueue(ticket(id, partition: "key-\(id)")) }
        #expect(order.trackedPartitions == 20_000)
        while let head = order.next(at: 0) { order.removeServed(id: head.id) }
        #expect(order.trackedPartitions == 0)
        // Small tables (64 entries or fewer) are kept, so one waiter at a time allocates nothing.
        #expect(order.reservedCapacity <= 3 * 64)
        // The same, leaving unserved (timed out).
        for id in 0 ..< 20_000 as Range<UInt64> { order.enqueue(ticket(id, partition: "key-\(id)")) }
        for id in 0 ..< 20_000 as Range<UInt64> { order.remove(id: id) }
        #expect(order.trackedPartitions == 0 && order.reservedCapacity <= 3 * 64)
    }

    @Test("the fair order takes the decisions of one that never forgets a partition", arguments: [FairWaitOrder.Share.cost, .count])
    func fairOrderForgetsNothingThatMatters(share: FairWaitOrder.Share) throws {
        var order = try FairWaitOrder(weights: ["k0": 3, "k1": 2], share: share)
        var reference = ReferenceFairOrder(weights: ["k0": 3, "k1": 2], share: share)
        var random = SplitMix64(seed: 18)
        var queued: [UInt64] = []
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
                queued.append(newcomer.id)
            } else if roll < 8 {
                let head = try #require(order.next(at: 0))
                #expect(head.id == reference.next()?.id, "step \(step)")
                order.removeServed(id: head.id)
                reference.remove(id: head.id, served: true)
                queued.removeAll { $0 == head.id }
            } else {
                let id = queued.remove(at: Int(random.next() % UInt64(queued.count)))
                order.remove(id: id)
                reference.remove(id: id, served: false)
            }
            #expect(order.count == reference.count)
            guard order.next(at: 0)?.id == reference.next()?.id else {
                Issue.record("step \(step): the order serves \(String(describing: order.next(at: 0))), the reference \(String(describing: reference.next()))")
                break
            }
        }
        #expect(order.trackedPartitions <= 400 + 4)
    }

    /// FIFO and fair queues meet the 200-byte target; the priority and deadline orders keep each
    /// ticket in a tree and a table of their own beside the job store, and do not (about 400 bytes:
    /// their bound here is what they take now, so that it cannot grow unseen). All four give their
    /// storage back once drained.
    @Test(
        "a job queue keeps at most 200 bytes a job beyond the payload (FIFO, fair), and gives them back once drained",
        arguments: [("FIFO", 200.0), ("fair", 200.0), ("priority", 420.0), ("deadline", 420.0)]
    )
    func jobQueueBytes(order name: String, bound: Double) throws {
        // A quarter of a million: every table and array then stands at the same fraction of its
        // capacity as at a million (each size is 4 = 2² times the other), so the bytes a job are
        // the million's (the Queues benchmark measures the million itself) in a quarter of the
        // time. Under the thread sanitizer malloc is not glibc's: the structure is exercised, not
        // weighed.
        let count = mallocIsMeasurable ? 250_000 : 20_000
        var random = SplitMix64(seed: 12)
        let deadlines = (0 ..< count).map { _ in Int64(1 << 40) + Int64(random.next() % (1 << 30)) }
        let before = allocatedBytes()
        let order: any WaitOrder = switch name {
        case "fair": try FairWaitOrder()
        case "priority": try PriorityWaitOrder()
        case "deadline": DeadlineWaitOrder()
        default: FIFOWaitOrder()
        }
        let queue = try JobQueue<Int, ManualClock>(order: order, capacity: count, clock: ManualClock())
        for index in 0 ..< count {
            try queue.enqueue(
                index, priority: Priority(rawValue: index % 3), partitionKey: name == "fair" ? partitionNames[index % 8] : nil,
                deadline: .at(NanosecondInstant(nanoseconds: deadlines[index]))
            )
        }
        let perJob = Double(allocatedBytes() - before) / Double(count) - Double(MemoryLayout<Int>.stride)
        while queue.tryDequeue() != nil {}
        let kept = allocatedBytes() - before
        withExtendedLifetime(queue) {}
        guard mallocIsMeasurable else { return }
        print("job queue (\(name)): \(Int(perJob)) bytes a job beyond the payload; \(kept) bytes kept after the drain")
        #expect(perJob <= bound)
        #expect(kept < 256 * 1024)
    }
}

let partitionNames = ["a", "b", "c", "d", "e", "f", "g", "h"]
