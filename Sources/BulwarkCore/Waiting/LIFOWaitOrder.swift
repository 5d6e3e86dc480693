/// Last in, first out: the newest waiter is served first.
///
/// Under overload the newest request is the one whose caller is most likely still waiting for the
/// answer; the oldest have usually given up. Netflix's concurrency-limits and .NET's
/// `QueueProcessingOrder.NewestFirst` offer the same order. The price is unfairness: in a queue
/// that never empties the oldest waiters are served last, so give them a deadline.
///
/// A newcomer is served before everything queued, so the wait predicted for it counts nothing
/// ahead of it. Enqueueing and serving take O(1); removing a waiter from the middle (a timeout or a
/// cancellation) takes O(n).
///
///     let bulkhead = try Bulkhead(limit: 5, order: LIFOWaitOrder())
public struct LIFOWaitOrder: WaitOrder {
    private var tickets: [WaitTicket] = []

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
        if tickets.last?.id == id {
            tickets.removeLast()
        } else if let index = tickets.lastIndex(where: { $0.id == id }) {
            tickets.remove(at: index)
        } else {
            return false
        }
        return true
    }

    /// Nothing is ahead of a newcomer: it goes on top.
    public func queuedCostAhead(ofNewcomerCosting cost: Int, totalQueuedCost: Int) -> Int {
        0
    }
}
