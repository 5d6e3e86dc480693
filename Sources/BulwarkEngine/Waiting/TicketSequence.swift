import BulwarkCore

/// Tickets in arrival order, taken from either end, any of them removable by id in O(log n):
/// the storage of the first-in-first-out and last-in-first-out orders (and of each partition of
/// the fair order).
///
/// Tickets are kept in one array, 57 bytes each (the ticket and a flag). While ids arrive in
/// increasing order (the waiting room and the job queues number their tickets so) a ticket is
/// found by binary search; once one arrives out of order the sequence keeps a dictionary of
/// positions until it next empties. A ticket removed from the middle leaves a hole that the ends
/// skip; the holes are compacted away once they are half the storage, and a large array is given
/// back when the sequence empties, so memory stays proportional to the tickets held.
package struct TicketSequence: Sendable {
    private var slots: [WaitTicket] = []
    /// Whether `slots[i]` is still held (a removed ticket stays, as a hole, until compaction).
    private var held: [Bool] = []
    /// The absolute position of `slots[0]`, so positions survive compaction.
    private var base = 0
    private var head = 0
    private var heldCount = 0
    /// Absolute positions by id, kept only while ids are out of order.
    private var positions: [UInt64: Int]?

    /// Creates an empty sequence.
    package init() {}

    /// How many tickets it holds.
    package var count: Int { heldCount }

    /// The oldest ticket.
    package var first: WaitTicket? { head < slots.count ? slots[head] : nil }

    /// The newest ticket.
    package var last: WaitTicket? { slots.last }

    /// The elements its arrays have room for (zero once a large sequence has emptied).
    package var reservedCapacity: Int { slots.capacity + (positions?.capacity ?? 0) }

    /// Appends a ticket.
    package mutating func append(_ ticket: WaitTicket) {
        if positions == nil, let last = slots.last, ticket.id <= last.id {
            // Out of order: binary search no longer works.
            var table: [UInt64: Int] = [:]
            table.reserveCapacity(heldCount + 1)
            for index in head ..< slots.count where held[index] { table[slots[index].id] = base + index }
            positions = table
        }
        positions?[ticket.id] = base + slots.count
        slots.append(ticket)
        held.append(true)
        heldCount += 1
    }

    /// The index in `slots` of the held ticket with this id.
    private func index(of id: UInt64) -> Int? {
        if let positions { return positions[id].map { $0 - base } }
        // The ends first: serving the head, or the newest leaving, is O(1).
        if head < slots.count, slots[head].id == id { return head }
        if let last = slots.last, last.id == id { return slots.count - 1 }
        var low = head
        var high = slots.count
        while low < high {
            let middle = (low + high) / 2
            if slots[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < slots.count && slots[low].id == id && held[low] ? low : nil
    }

    /// Removes the ticket with this id; returns it if it was there.
    @discardableResult
    package mutating func remove(id: UInt64) -> WaitTicket? {
        guard let index = index(of: id) else { return nil }
        let ticket = slots[index]
        held[index] = false
        heldCount -= 1
        positions?.removeValue(forKey: id)
        // Keep both ends on a ticket.
        while head < slots.count, !held[head] { head += 1 }
        while slots.count > head, !held[slots.count - 1] {
            slots.removeLast()
            held.removeLast()
        }
        if heldCount == 0 {
            base += slots.count
            let keep = slots.capacity <= 64
            slots.removeAll(keepingCapacity: keep)
            held.removeAll(keepingCapacity: keep)
            positions = nil
            head = 0
        } else if slots.count >= 64, heldCount * 2 <= slots.count {
            compact()
        }
        return ticket
    }

    /// Drops the holes, renumbering the positions, into arrays sized for what is held.
    private mutating func compact() {
        var kept: [WaitTicket] = []
        kept.reserveCapacity(heldCount)
        base += slots.count
        for index in head ..< slots.count where held[index] {
            positions?[slots[index].id] = base + kept.count
            kept.append(slots[index])
        }
        slots = kept
        held = Array(repeating: true, count: kept.count)
        head = 0
        positions?.releaseUnusedCapacity()
    }
}

extension Dictionary {
    /// Gives back a large table's storage once its entries fill less than a quarter of it, so a
    /// table that has drained holds memory for what it holds now, not for its peak. Small tables
    /// keep theirs (no allocation for a queue that fills and empties one entry at a time). O(n)
    /// when it rebuilds, which takes removals in proportion to n: O(1) amortised.
    @inlinable
    package mutating func releaseUnusedCapacity() {
        guard capacity > 64, count * 4 < capacity else { return }
        if isEmpty {
            self = [:]
        } else {
            var smaller = Self(minimumCapacity: count)
            for (key, value) in self { smaller[key] = value }
            self = smaller
        }
    }
}

/// First in, first out: waiters are served strictly in the order they arrived.
///
/// A newcomer never overtakes a queued waiter, even one asking for more than is available now.
/// Every operation takes O(1) amortised, removing a waiter from the middle (a timeout or a
/// cancellation) included.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 10, refill: 10, every: .seconds(1),
///                                          order: FIFOWaitOrder())
public struct FIFOWaitOrder: WaitOrder {
    private var tickets = TicketSequence()

    /// Creates an empty order.
    public init() {}

    /// How many tickets are queued.
    public var count: Int { tickets.count }

    /// Appends the ticket at the back.
    public mutating func enqueue(_ ticket: WaitTicket) {
        tickets.append(ticket)
    }

    /// The oldest ticket.
    public func next(at now: Int64) -> WaitTicket? {
        tickets.first
    }

    /// Removes the ticket.
    @discardableResult
    public mutating func remove(_ ticket: WaitTicket) -> Bool {
        tickets.remove(id: ticket.id) != nil
    }
}

/// Last in, first out: the newest waiter is served first.
///
/// Under overload the newest request is the one whose caller is most likely still waiting for the
/// answer; the oldest have usually given up. Netflix's concurrency-limits and .NET's
/// `QueueProcessingOrder.NewestFirst` offer the same order. The price is unfairness: in a queue
/// that never empties the oldest waiters are served last, so give them a deadline.
///
/// A newcomer is served before everything queued, so the wait predicted for it counts nothing
/// ahead of it. Every operation takes O(1) amortised.
///
///     let bulkhead = try Bulkhead(limit: 5, order: LIFOWaitOrder())
public struct LIFOWaitOrder: WaitOrder {
    private var tickets = TicketSequence()

    /// Creates an empty order.
    public init() {}

    /// How many tickets are queued.
    public var count: Int { tickets.count }

    /// Puts the ticket on top.
    public mutating func enqueue(_ ticket: WaitTicket) {
        tickets.append(ticket)
    }

    /// The newest ticket.
    public func next(at now: Int64) -> WaitTicket? {
        tickets.last
    }

    /// Removes the ticket.
    @discardableResult
    public mutating func remove(_ ticket: WaitTicket) -> Bool {
        tickets.remove(id: ticket.id) != nil
    }

    /// Nothing is ahead of a newcomer: it goes on top.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        0
    }
}
