public import BulwarkCore

/// One waiter, or one queued item, as a waiting order sees it.
public struct WaitTicket: Sendable, Hashable {
    /// Unique among the queue's tickets, and drawn as callers arrive: the waiting room and the job
    /// queues number tickets in increasing order, and the priority and deadline orders serve equal
    /// ranks in the order of their ids.
    public var id: UInt64
    /// What the waiter asks for.
    public var cost: Int
    /// How urgent it is.
    public var priority: Priority
    /// Whose quota it waits for.
    public var partitionKey: String?
    /// When it joined the queue, in clock nanoseconds.
    public var enqueuedAt: Int64
    /// The latest moment it may be served, in clock nanoseconds; `Int64.max` for none.
    public var deadline: Int64

    /// Creates a ticket.
    public init(
        id: UInt64, cost: Int, priority: Priority, partitionKey: String?, enqueuedAt: Int64, deadline: Int64 = .max
    ) {
        self.id = id
        self.cost = cost
        self.priority = priority
        self.partitionKey = partitionKey
        self.enqueuedAt = enqueuedAt
        self.deadline = deadline
    }
}

/// The order in which a queue serves its tickets: the pluggable part of the waiting room, and of
/// the job queues.
///
/// A limiter serves only the ticket ``next(at:)`` names: when that waiter cannot be admitted yet,
/// nobody behind it is, so the order alone decides who may overtake whom. ``FIFOWaitOrder`` serves
/// strictly by arrival, ``LIFOWaitOrder`` newest first; `BulwarkQueues` adds priority with ageing,
/// weighted fair and earliest-deadline-first orders.
///
/// An order only arranges tickets: the queue keeps the waiters (or items), their deadlines and
/// their continuations, and calls the order under its lock. Every operation of Bulwark's orders
/// takes O(log n) time or better.
public protocol WaitOrder: Sendable {
    /// How many tickets the order holds.
    var count: Int { get }

    /// Adds a ticket; its id is not in the order already.
    mutating func enqueue(_ ticket: WaitTicket)

    /// The ticket to serve next at the clock reading `now`, without removing it.
    func next(at now: Int64) -> WaitTicket?

    /// Removes a ticket that leaves without being served (timed out, cancelled, dropped); returns
    /// whether it was there.
    ///
    /// The queue passes the ticket as it was enqueued, so an order finds it by what it is ordered
    /// by and needs no table by id (the priority and deadline orders keep nothing but the tickets).
    @discardableResult
    mutating func remove(_ ticket: WaitTicket) -> Bool

    /// Removes the ticket ``next(at:)`` named, because it was served. The default calls
    /// ``remove(_:)``; an order that keeps accounts of what it served (the fair order) tells the
    /// two apart.
    mutating func removeServed(_ ticket: WaitTicket)

    /// How much of the queued cost would be served before `newcomer`, arriving now: the basis of
    /// the wait predicted for it (its retry-after, and early rejection).
    ///
    /// The default is all of it (`totalQueuedCost`), which is right for first-in-first-out; an
    /// order that lets newcomers overtake answers less.
    func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int

    /// Whether a newcomer whose predicted admission falls after its deadline is refused at once,
    /// with the predicted wait as its retry-after, whatever it asked
    /// (`WaitOptions/rejectEarly`). `false` by default; a deadline-aware order says `true`.
    var rejectsUnreachableDeadlines: Bool { get }
}

extension WaitOrder {
    /// Removes the served ticket like any other.
    public mutating func removeServed(_ ticket: WaitTicket) {
        remove(ticket)
    }

    /// Everything queued is ahead of a newcomer.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        totalQueuedCost
    }

    /// Only callers that ask for it are refused early.
    public var rejectsUnreachableDeadlines: Bool { false }
}
