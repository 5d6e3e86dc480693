public import BulwarkCore

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
/// It keeps each waiter's continuation in a `TicketQueue` (the order is a pluggable
/// ``WaitOrder``; deadlines are kept sorted) and the timer that wakes the limiter. It is a plain
/// value kept under the limiter's lock; every waiter it removes is answered exactly once, by
/// whoever removed it.
@usableFromInline
struct WaitingRoom: Sendable {
    typealias Waiter = TicketQueue<UnsafeContinuation<WaitOutcome, Never>>.Entry

    /// How many waiters are queued; read on the fast path, so kept as a stored property.
    @usableFromInline private(set) var count = 0
    private var queue: TicketQueue<UnsafeContinuation<WaitOutcome, Never>>
    var timer = WakeUpTimer()
    /// The clock reading up to which the queue's events have been handled.
    var servedUntil: Int64

    init(order: any WaitOrder, now: Int64) {
        self.queue = TicketQueue(order: order)
        self.servedUntil = now
    }

    /// The total cost of the queued waiters.
    var queuedCost: Int { queue.queuedCost }

    /// Whether the order refuses at once a newcomer that cannot be admitted by its deadline.
    var rejectsUnreachableDeadlines: Bool { queue.rejectsUnreachableDeadlines }

    /// Queues a waiter at the clock reading `now`.
    mutating func enqueue(_ ticket: WaitTicket, continuation: UnsafeContinuation<WaitOutcome, Never>, at now: Int64) {
        // A waiter joining an empty queue starts its history now; otherwise events before now may
        // still be waiting to be handled.
        if count == 0 { servedUntil = now }
        queue.enqueue(ticket, payload: continuation)
        count = queue.count
    }

    /// Whether a waiter with this id is queued.
    func contains(id: UInt64) -> Bool {
        queue.entry(id: id) != nil
    }

    /// Removes a waiter that leaves unserved; returns it if it was still queued.
    @discardableResult
    mutating func remove(id: UInt64) -> Waiter? {
        defer { count = queue.count }
        return queue.remove(id: id)
    }

    /// Removes the waiter being admitted.
    mutating func removeServed(id: UInt64) -> Waiter? {
        defer { count = queue.count }
        return queue.removeServed(id: id)
    }

    /// Removes a waiter whose deadline is at or before `now`, earliest first.
    mutating func removeExpired(at now: Int64) -> Waiter? {
        defer { count = queue.count }
        return queue.removeExpired(at: now)
    }

    /// The waiter the order serves next.
    func next(at now: Int64) -> WaitTicket? {
        queue.next(at: now)
    }

    /// The queued cost the order would serve before `newcomer`.
    func costAhead(of newcomer: WaitTicket) -> Int {
        queue.costAhead(of: newcomer)
    }

    /// The earliest deadline among the waiters, or `Int64.max`.
    var earliestDeadline: Int64 { queue.earliestDeadline }
}
