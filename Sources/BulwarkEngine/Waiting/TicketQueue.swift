import BulwarkCore

/// Tickets with what they carry, kept in a ``WaitOrder`` and by deadline: the storage shared by the
/// limiters' waiting room (which carries continuations) and the job queues (which carry jobs).
///
/// Every operation takes O(log n) time or better: the order's own, a dictionary by id, and a
/// `CostTree` of the deadlines, so the earliest deadline and the expired tickets are found
/// without a scan. It is a plain value, kept under its owner's lock.
@usableFromInline
package struct TicketQueue<Payload: Sendable>: Sendable {
    /// A queued ticket and what it carries.
    @usableFromInline
    package struct Entry: Sendable {
        @usableFromInline package var ticket: WaitTicket
        @usableFromInline package var payload: Payload

        @inlinable
        init(ticket: WaitTicket, payload: Payload) {
            self.ticket = ticket
            self.payload = payload
        }
    }

    /// A deadline, made unique by the ticket's id.
    @usableFromInline
    struct DeadlineKey: Comparable, Sendable {
        @usableFromInline var deadline: Int64
        @usableFromInline var id: UInt64

        @inlinable
        init(deadline: Int64, id: UInt64) {
            self.deadline = deadline
            self.id = id
        }

        @inlinable
        static func < (a: Self, b: Self) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    /// How many tickets are queued.
    @usableFromInline package private(set) var count = 0
    /// The total cost of the queued tickets.
    @usableFromInline package private(set) var queuedCost = 0
    @usableFromInline var order: any WaitOrder
    @usableFromInline var entries: [UInt64: Entry] = [:]
    @usableFromInline var deadlines = CostTree<DeadlineKey>()

    /// Creates an empty queue served in `order` (which must be empty).
    @inlinable
    package init(order: any WaitOrder) {
        self.order = order
    }

    /// Whether a newcomer whose predicted admission falls after its deadline is refused at once.
    @inlinable
    package var rejectsUnreachableDeadlines: Bool { order.rejectsUnreachableDeadlines }

    /// Queues a ticket (its id must be new) with what it carries.
    @inlinable
    package mutating func enqueue(_ ticket: WaitTicket, payload: Payload) {
        order.enqueue(ticket)
        entries[ticket.id] = Entry(ticket: ticket, payload: payload)
        if ticket.deadline != .max { deadlines.insert(DeadlineKey(deadline: ticket.deadline, id: ticket.id), cost: 0) }
        count += 1
        queuedCost += ticket.cost
    }

    /// The queued entry with this id, if any.
    @inlinable
    package func entry(id: UInt64) -> Entry? {
        entries[id]
    }

    /// Removes a ticket that leaves unserved (timed out, cancelled, dropped); returns its entry if
    /// it was queued.
    @inlinable
    @discardableResult
    package mutating func remove(id: UInt64) -> Entry? {
        take(id: id, served: false)
    }

    /// Removes the ticket the order named next, because it is served; returns its entry.
    @inlinable
    @discardableResult
    package mutating func removeServed(id: UInt64) -> Entry? {
        take(id: id, served: true)
    }

    @inlinable
    mutating func take(id: UInt64, served: Bool) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        entries.releaseUnusedCapacity()  // a drained waiting room gives its table back
        if served { order.removeServed(entry.ticket) } else { order.remove(entry.ticket) }
        if entry.ticket.deadline != .max { deadlines.remove(DeadlineKey(deadline: entry.ticket.deadline, id: id)) }
        count -= 1
        queuedCost -= entry.ticket.cost
        return entry
    }

    /// The ticket the order serves next.
    @inlinable
    package func next(at now: Int64) -> WaitTicket? {
        order.next(at: now)
    }

    /// The queued cost the order would serve before `newcomer`.
    @inlinable
    package func costAhead(of newcomer: WaitTicket) -> Int {
        count == 0 ? 0 : order.queuedCostAhead(of: newcomer, totalQueuedCost: queuedCost)
    }

    /// The earliest deadline among the queued tickets, or `Int64.max`.
    @inlinable
    package var earliestDeadline: Int64 {
        deadlines.first?.key.deadline ?? .max
    }

    /// Removes the ticket with the earliest deadline if that deadline is at or before `now`.
    @inlinable
    package mutating func removeExpired(at now: Int64) -> Entry? {
        guard let first = deadlines.first, first.key.deadline <= now else { return nil }
        return remove(id: first.key.id)
    }
}
