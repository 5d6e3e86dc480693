public import BulwarkCore

/// Serves the waiter whose deadline comes first (earliest deadline first), and refuses at once a
/// newcomer that cannot be admitted by its deadline.
///
/// Waiters without a deadline come after every waiter with one, first-in-first-out among
/// themselves, as do waiters with equal deadlines. A newcomer whose predicted admission (the cost
/// ordered before it now, at the limiter's rate) falls after its deadline is refused with
/// ``BulwarkError/rateLimited(retryAfter:)`` carrying that prediction, whether or not it asked
/// for ``WaitOptions/rejectEarly``; every other waiter is answered at its deadline exactly (the
/// waiting room wakes at the earliest deadline), not at the next event. Every operation takes
/// O(log n); the prediction is exact as the queue stands.
///
/// Earliest deadline first is the order that misses the fewest deadlines when the work can be
/// done in time at all; under overload it can miss many, which is why it refuses early.
///
/// A concurrency limit cannot predict when a permit comes back, so a bulkhead with this order
/// serves by deadline but refuses nobody early.
///
///     let limiter = try TokenBucketLimiter(capacity: 40, every: .seconds(60), order: DeadlineWaitOrder())
///     try await limiter.acquire(deadline: .after(.seconds(2)))
public struct DeadlineWaitOrder: WaitOrder {
    /// Earliest deadline, then arrival. (The id rides along.)
    struct Key: Comparable, Sendable {
        var deadline: Int64
        var sequence: UInt64
        var id: UInt64
        static func < (a: Self, b: Self) -> Bool { (a.deadline, a.sequence) < (b.deadline, b.sequence) }
        static func == (a: Self, b: Self) -> Bool { a.deadline == b.deadline && a.sequence == b.sequence }
    }

    private var tree = CostTree<Key>()
    private var tickets: [UInt64: (key: Key, ticket: WaitTicket)] = [:]
    private var nextSequence: UInt64 = 0

    /// Creates an empty order.
    public init() {}

    /// How many tickets are queued.
    public var count: Int { tree.count }

    /// Queues the ticket behind every ticket due no later.
    public mutating func enqueue(_ ticket: WaitTicket) {
        let key = Key(deadline: ticket.deadline, sequence: nextSequence, id: ticket.id)
        nextSequence += 1
        tree.insert(key, cost: ticket.cost)
        tickets[ticket.id] = (key, ticket)
    }

    /// The ticket due first.
    public func next(at now: Int64) -> WaitTicket? {
        tree.first.flatMap { tickets[$0.key.id]?.ticket }
    }

    /// Removes the ticket with the given id.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        guard let entry = tickets.removeValue(forKey: id) else { return false }
        tree.remove(entry.key)
        return true
    }

    /// The cost of every ticket due no later than the newcomer.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        tree.costBefore(Key(deadline: newcomer.deadline, sequence: nextSequence, id: newcomer.id))
    }

    /// A newcomer that cannot make its deadline is refused at once.
    public var rejectsUnreachableDeadlines: Bool { true }
}
