import BulwarkCore

/// Tickets kept sorted by a rank (smallest first), first-in-first-out among equal ranks: the
/// storage of the priority and deadline orders, which differ only in the rank they give a ticket.
///
/// Every operation takes O(log n): a ``CostTree`` of the keys, whose subtree costs answer "the
/// cost queued before this rank", and the tickets by id.
struct RankedTickets: Sendable {
    /// The rank, then arrival. (The id rides along.)
    struct Key: Comparable, Sendable {
        var rank: Int128
        var sequence: UInt64
        var id: UInt64
        static func < (a: Self, b: Self) -> Bool { (a.rank, a.sequence) < (b.rank, b.sequence) }
        static func == (a: Self, b: Self) -> Bool { a.rank == b.rank && a.sequence == b.sequence }
    }

    private var tree = CostTree<Key>()
    private var tickets: [UInt64: (key: Key, ticket: WaitTicket)] = [:]
    private var nextSequence: UInt64 = 0

    /// How many tickets are held.
    var count: Int { tree.count }

    /// Adds a ticket at `rank`, behind every ticket of equal or smaller rank.
    mutating func insert(_ ticket: WaitTicket, rank: Int128) {
        let key = Key(rank: rank, sequence: nextSequence, id: ticket.id)
        nextSequence += 1
        tree.insert(key, cost: ticket.cost)
        tickets[ticket.id] = (key, ticket)
    }

    /// The ticket of the smallest rank, the oldest among equals.
    var first: WaitTicket? {
        tree.first.flatMap { tickets[$0.key.id]?.ticket }
    }

    /// Removes the ticket with this id; returns whether it was held.
    mutating func remove(id: UInt64) -> Bool {
        guard let entry = tickets.removeValue(forKey: id) else { return false }
        tickets.releaseUnusedCapacity()  // a drained order gives its table back (the tree does too)
        tree.remove(entry.key)
        return true
    }

    /// The cost of every ticket a newcomer of `rank` arriving now would come behind.
    func costBefore(rank: Int128) -> Int {
        tree.costBefore(Key(rank: rank, sequence: nextSequence, id: 0))
    }
}
