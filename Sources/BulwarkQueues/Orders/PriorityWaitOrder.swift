public import BulwarkCore
public import BulwarkEngine

/// How fast a waiter's priority rises while it waits: ``levels`` priority levels every ``every``.
///
/// With ageing, a waiter of priority `p` that has waited `w` is served as if its priority were
/// `p + levels × w / every`, so a waiter of priority `q > p` arriving later than
/// `(q − p) × every / levels` after it comes behind it: starvation is bounded (see
/// ``PriorityWaitOrder``).
public struct PriorityAgeing: Sendable, Hashable {
    /// How many levels a waiter gains per ``every``.
    public var levels: Int
    /// The waiting time that earns ``levels`` levels.
    public var every: Duration

    /// Creates an ageing rule: ``levels`` levels (at least 1) per ``every`` (positive).
    public init(levels: Int = 1, every: Duration) {
        self.levels = levels
        self.every = every
    }
}

/// Serves the most urgent waiter first, first-in-first-out among equal priorities, with optional
/// ageing so that no waiter starves.
///
/// Priorities come from `WaitOptions/priority` (or a job's priority): any `Int`, higher is more
/// urgent; the named levels are 100 apart. Without ageing the order is strict: a stream of urgent
/// waiters can hold a low one back for ever. With ``PriorityAgeing`` a waiter's priority rises with
/// its wait. Because every waiter ages at the same pace, the order between two waiters never
/// changes while they wait, so it is kept in a sorted tree and every operation takes O(log n).
///
/// **Starvation bound.** A waiter of priority `p` that arrives at `t` is overtaken only by waiters
/// of a higher priority `q` arriving before `t + (q − p) × every / levels`. So with a rate limiter
/// of rate `R` (cost per second), its wait is at most
/// `(C_ahead + C_overtaking) / R`, where `C_ahead` is the cost queued before it when it arrived
/// and `C_overtaking` the cost of the urgent waiters arriving in the `(q_max − p) × every / levels`
/// that follow. The guide derives it and a test measures it.
///
/// The wait predicted for a newcomer counts exactly the cost ordered before it now.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 10, refill: 10, every: .seconds(1),
///                                          order: try PriorityWaitOrder(ageing: .init(every: .milliseconds(10))))
///     try await limiter.acquire(priority: .high)
public struct PriorityWaitOrder: WaitOrder {
    /// The ageing rule, if any.
    public let ageing: PriorityAgeing?
    private var tickets: RankedTickets<Ranking>

    /// The rank the order serves by, smallest first: the priority, aged, negated (scaled so that
    /// the order is exact in integers: `−(p × every − t × levels)`).
    struct Ranking: TicketRanking {
        /// ``every`` in nanoseconds, and ``levels``; zero for strict priority.
        let every: Int128
        let levels: Int128

        func rank(of ticket: WaitTicket) -> Int128 {
            let priority = Int128(ticket.priority.rawValue)
            guard levels > 0 else { return -priority }
            return -(priority * every - Int128(ticket.enqueuedAt) * levels)
        }
    }

    /// Creates an empty order.
    ///
    /// - Parameter ageing: How fast waiting raises a priority; `nil` for strict priority.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `ageing.levels` is below 1
    ///   or `ageing.every` is not positive.
    public init(ageing: PriorityAgeing? = nil) throws(BulwarkError) {
        if let ageing {
            guard ageing.levels >= 1 else {
                throw .invalidConfiguration(field: "ageing.levels", rule: "must be at least 1 (got \(ageing.levels))")
            }
            guard ageing.every > .zero else {
                throw .invalidConfiguration(field: "ageing.every", rule: "must be positive (got \(ageing.every))")
            }
        }
        self.ageing = ageing
        self.tickets = RankedTickets(
            ranking: Ranking(every: Int128(ageing?.every.saturatingNanoseconds ?? 0), levels: Int128(ageing?.levels ?? 0))
        )
    }

    /// How many tickets are queued.
    public var count: Int { tickets.count }

    /// The nodes the order's tree has room for (zero once it has drained).
    package var reservedCapacity: Int { tickets.reservedCapacity }

    /// Queues the ticket behind every ticket of equal or higher (aged) priority.
    public mutating func enqueue(_ ticket: WaitTicket) {
        tickets.insert(ticket)
    }

    /// The most urgent ticket.
    public func next(at now: Int64) -> WaitTicket? {
        tickets.first
    }

    /// Removes the ticket.
    @discardableResult
    public mutating func remove(_ ticket: WaitTicket) -> Bool {
        tickets.remove(ticket)
    }

    /// The cost of every ticket the order puts before the newcomer now.
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        tickets.costBefore(newcomer)
    }
}
