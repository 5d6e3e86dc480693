/// Tickets in arrival order, taken from either end, any of them removable by id in O(1)
/// amortised: the storage of the first-in-first-out and last-in-first-out orders (and of each
/// partition of the fair order).
///
/// A ticket removed from the middle leaves a hole that the ends skip; the holes are compacted
/// away once they are half the storage, so memory stays proportional to the tickets held.
package struct TicketSequence: Sendable {
    private var slots: [WaitTicket?] = []
    /// The absolute position of `slots[0]`, so positions survive compaction.
    private var base = 0
    private var head = 0
    private var positions: [UInt64: Int] = [:]

    /// Creates an empty sequence.
    package init() {}

    /// How many tickets it holds.
    package var count: Int { positions.count }

    /// The oldest ticket.
    package var first: WaitTicket? { head < slots.count ? slots[head] : nil }

    /// The newest ticket.
    package var last: WaitTicket? { slots.last ?? nil }

    /// Appends a ticket.
    package mutating func append(_ ticket: WaitTicket) {
        positions[ticket.id] = base + slots.count
        slots.append(ticket)
    }

    /// Removes the ticket with this id; returns it if it was there.
    @discardableResult
    package mutating func remove(id: UInt64) -> WaitTicket? {
        guard let position = positions.removeValue(forKey: id) else { return nil }
        let index = position - base
        let ticket = slots[index]
        slots[index] = nil
        // Keep both ends on a ticket.
        while head < slots.count, slots[head] == nil { head += 1 }
        while slots.count > head, slots[slots.count - 1] == nil { slots.removeLast() }
        if slots.count == head {
            base += slots.count
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if slots.count >= 64, positions.count * 2 <= slots.count {
            compact()
        }
        return ticket
    }

    /// Drops the holes, renumbering the positions.
    private mutating func compact() {
        var kept: [WaitTicket?] = []
        kept.reserveCapacity(positions.count)
        base += slots.count
        for case let ticket? in slots[head...] {
            positions[ticket.id] = base + kept.count
            kept.append(ticket)
        }
        slots = kept
        head = 0
    }
}

/// First in, first out: waiters are served strictly in the order they arrived.
///
/// A newcomer never overtakes a queued waiter, even one asking for more than is available now.
/// Every operation takes O(1) amortised, removing a waiter from the middle (a timeout or a
/// cancellation) included.
///
///     let limiter = try TokenBucketLimiter(capacity: 10, refill: 10, every: .seconds(1),
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

    /// Removes the ticket with the given id.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        tickets.remove(id: id) != nil
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

    /// Removes the ticket with the given id.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        tickets.remove(id: id) != nil
    }

    /// Nothing is ahead of a newcomer: it goes on top.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        0
    }
}
