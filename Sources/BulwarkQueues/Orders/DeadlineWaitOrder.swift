import BulwarkCore
public import BulwarkEngine

/// Serves the waiter whose deadline comes first (earliest deadline first), and refuses at once a
/// newcomer that cannot be admitted by its deadline.
///
/// Waiters without a deadline come after every waiter with one, first-in-first-out among
/// themselves, as do waiters with equal deadlines. A newcomer whose predicted admission (the cost
/// ordered before it now, at the limiter's rate) falls after its deadline is refused with
/// `BulwarkError/rateLimited(retryAfter:)` carrying that prediction, whether or not it asked
/// for `WaitOptions/rejectEarly`; every other waiter is answered at its deadline exactly (the
/// waiting room wakes at the earliest deadline), not at the next event. Every operation takes
/// O(log n); the prediction is exact as the queue stands.
///
/// Earliest deadline first is the order that misses the fewest deadlines when the work can be
/// done in time at all; under overload it can miss many, which is why it refuses early.
///
/// A concurrency limit cannot predict when a permit comes back, so a bulkhead with this order
/// serves by deadline but refuses nobody early.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 40, every: .seconds(60), order: DeadlineWaitOrder())
///     try await limiter.acquire(deadline: .after(.seconds(2)))
public struct DeadlineWaitOrder: WaitOrder {
    /// Earliest deadline first (a ticket without one has `Int64.max`), then arrival.
    struct Ranking: TicketRanking {
        func rank(of ticket: WaitTicket) -> Int128 { Int128(ticket.deadline) }
    }

    private var tickets = RankedTickets(ranking: Ranking())

    /// Creates an empty order.
    public init() {}

    /// How many tickets are queued.
    public var count: Int { tickets.count }

    /// The nodes the order's tree has room for (zero once it has drained).
    package var reservedCapacity: Int { tickets.reservedCapacity }

    /// Queues the ticket behind every ticket due no later.
    public mutating func enqueue(_ ticket: WaitTicket) {
        tickets.insert(ticket)
    }

    /// The ticket due first.
    public func next(at now: Int64) -> WaitTicket? {
        tickets.first
    }

    /// Removes the ticket.
    @discardableResult
    public mutating func remove(_ ticket: WaitTicket) -> Bool {
        tickets.remove(ticket)
    }

    /// The cost of every ticket due no later than the newcomer.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        tickets.costBefore(newcomer)
    }

    /// A newcomer that cannot make its deadline is refused at once.
    public var rejectsUnreachableDeadlines: Bool { true }
}
