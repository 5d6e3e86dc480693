/// How a wait ended.
@usableFromInline
enum WaitOutcome: Sendable {
    /// Admitted with this decision, at this clock reading (the algorithm's `updatedAt`).
    case admitted(RateLimitDecision, at: Int64)
    /// Refused without queueing: the predicted wait was too long.
    case rejected(retryAfter: Int64)
    case timedOut
    case cancelled
    case queueFull(limit: Int)
}

/// A suspended waiter to answer, once the lock is released.
@usableFromInline
struct Resumption: Sendable {
    let continuation: UnsafeContinuation<WaitOutcome, Never>
    let outcome: WaitOutcome

    func resume() {
        continuation.resume(returning: outcome)
    }
}

/// The queue behind a limiter's `acquire`: who waits, in which order, until when.
///
/// It holds each waiter's deadline and continuation and delegates the order to a ``WaitOrder``.
/// It is a plain value kept under the limiter's lock; every waiter it removes is answered exactly
/// once, by whoever removed it.
@usableFromInline
struct WaitingRoom: Sendable {
    struct Waiter: Sendable {
        var ticket: WaitTicket
        var deadline: Int64
        var continuation: UnsafeContinuation<WaitOutcome, Never>
    }

    /// The pending wake-up: a task sleeping on the clock until the next thing can happen.
    struct Timer: Sendable {
        var generation: UInt64
        var fireAt: Int64
        var task: Task<Void, Never>
    }

    /// How many waiters are queued; read on the fast path, so kept as a stored property.
    @usableFromInline private(set) var count = 0
    /// The total cost of the queued waiters.
    private(set) var queuedCost = 0
    private var order: any WaitOrder
    private var waiters: [UInt64: Waiter] = [:]
    var timer: Timer?
    var timerGeneration: UInt64 = 0
    /// The clock reading up to which the queue's events have been handled.
    var servedUntil: Int64

    init(order: any WaitOrder, now: Int64) {
        self.order = order
        self.servedUntil = now
    }

    /// Queues a waiter at the clock reading `now`.
    mutating func enqueue(
        _ ticket: WaitTicket, deadline: Int64, continuation: UnsafeContinuation<WaitOutcome, Never>, at now: Int64
    ) {
        // A waiter joining an empty queue starts its history now; otherwise events before now may
        // still be waiting to be handled.
        if count == 0 { servedUntil = now }
        order.enqueue(ticket)
        waiters[ticket.id] = Waiter(ticket: ticket, deadline: deadline, continuation: continuation)
        count += 1
        queuedCost += ticket.cost
    }

    /// The queued waiter with this id, if any.
    func waiter(id: UInt64) -> Waiter? {
        waiters[id]
    }

    /// Removes a waiter; returns it if it was still queued.
    @discardableResult
    mutating func remove(id: UInt64) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: id) else { return nil }
        order.remove(id: id)
        count -= 1
        queuedCost -= waiter.ticket.cost
        return waiter
    }

    /// The waiter the order serves next.
    func next(at now: Int64) -> WaitTicket? {
        order.next(at: now)
    }

    /// The queued cost the order would serve before a newcomer costing `cost`.
    func costAhead(ofNewcomerCosting cost: Int) -> Int {
        count == 0 ? 0 : order.queuedCostAhead(ofNewcomerCosting: cost, totalQueuedCost: queuedCost)
    }

    /// The ids of the waiters whose deadline is at or before `now`.
    func expired(at now: Int64) -> [UInt64] {
        waiters.values.filter { $0.deadline <= now }.map(\.ticket.id)
    }

    /// The earliest deadline among the waiters, or `Int64.max`.
    var earliestDeadline: Int64 {
        waiters.values.lazy.map(\.deadline).min() ?? .max
    }
}
