/// First in, first out: waiters are served strictly in the order they arrived.
///
/// A newcomer never overtakes a queued waiter, even one asking for more than is available now.
/// Enqueueing and serving the head take O(1) amortised; removing a waiter from the middle (a
/// timeout or a cancellation) takes O(n).
///
///     let limiter = try TokenBucketLimiter(capacity: 10, refill: 10, every: .seconds(1),
///                                          order: FIFOWaitOrder())
public struct FIFOWaitOrder: WaitOrder {
    private var tickets: [WaitTicket] = []
    private var head = 0

    /// Creates an empty order.
    public init() {}

    /// How many tickets are queued.
    public var count: Int { tickets.count - head }

    /// Appends the ticket at the back.
    public mutating func enqueue(_ ticket: WaitTicket) {
        tickets.append(ticket)
    }

    /// The oldest ticket.
    public func next(at now: Int64) -> WaitTicket? {
        head < tickets.count ? tickets[head] : nil
    }

    /// Removes the ticket with the given id.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        if head < tickets.count, tickets[head].id == id {
            head += 1
        } else if let index = tickets[head...].firstIndex(where: { $0.id == id }) {
            tickets.remove(at: index)
        } else {
            return false
        }
        // Reclaim the served prefix once it is at least half the storage.
        if head == tickets.count {
            tickets.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32, head * 2 >= tickets.count {
            tickets.removeFirst(head)
            head = 0
        }
        return true
    }
}
