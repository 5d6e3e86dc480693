/// One waiter, as the waiting order sees it.
public struct WaitTicket: Sendable, Hashable {
    /// Unique among the limiter's waiters.
    public var id: UInt64
    /// What the waiter asks for.
    public var cost: Int
    /// How urgent it is.
    public var priority: Priority
    /// Whose quota it waits for.
    public var partitionKey: String?
    /// When it joined the queue, in clock nanoseconds.
    public var enqueuedAt: Int64

    /// Creates a ticket.
    public init(id: UInt64, cost: Int, priority: Priority, partitionKey: String?, enqueuedAt: Int64) {
        self.id = id
        self.cost = cost
        self.priority = priority
        self.partitionKey = partitionKey
        self.enqueuedAt = enqueuedAt
    }
}

/// The order in which a limiter's queue serves its waiters: the pluggable part of the waiting room.
///
/// The limiter serves only the waiter ``next(at:)`` names: when that waiter cannot be admitted yet,
/// nobody behind it is, so the order alone decides who may overtake whom. ``FIFOWaitOrder`` serves
/// strictly by arrival, ``LIFOWaitOrder`` newest first; priority (with ageing) and weighted-fair
/// orders plug in here too.
///
/// An order only arranges tickets: the limiter keeps the waiters, their deadlines and their
/// continuations, and calls the order under its lock.
public protocol WaitOrder: Sendable {
    /// How many tickets the order holds.
    var count: Int { get }

    /// Adds a ticket.
    mutating func enqueue(_ ticket: WaitTicket)

    /// The ticket to serve next at the clock reading `now`, without removing it.
    func next(at now: Int64) -> WaitTicket?

    /// Removes the ticket with the given id (served, timed out or cancelled); returns whether it
    /// was there.
    @discardableResult
    mutating func remove(id: UInt64) -> Bool

    /// How much of the queued cost would be served before a newcomer costing `cost` arriving now:
    /// the basis of the wait predicted for it (its retry-after, and early rejection).
    ///
    /// The default is all of it (`totalQueuedCost`), which is right for first-in-first-out; an
    /// order that lets newcomers overtake answers less.
    func queuedCostAhead(ofNewcomerCosting cost: Int, totalQueuedCost: Int) -> Int
}

extension WaitOrder {
    /// Everything queued is ahead of a newcomer.
    public func queuedCostAhead(ofNewcomerCosting cost: Int, totalQueuedCost: Int) -> Int {
        totalQueuedCost
    }
}
