import BulwarkCore
import BulwarkEngine

/// What the priority and deadline orders serve by: a rank for each ticket, smallest first.
protocol TicketRanking: Sendable {
    /// The ticket's rank; equal ranks are served in the order of the tickets' ids.
    func rank(of ticket: WaitTicket) -> Int128
}

/// Tickets by rank, then id: the tree's ordering, computed from the ticket (nothing is stored
/// beside it).
struct ByRank<Ranking: TicketRanking>: CostTreeOrdering {
    let ranking: Ranking

    func precedes(_ a: WaitTicket, _ b: WaitTicket) -> Bool {
        let (rankA, rankB) = (ranking.rank(of: a), ranking.rank(of: b))
        return rankA < rankB || (rankA == rankB && a.id < b.id)
    }
}

/// Tickets kept sorted by a rank (smallest first), in id order (arrival) among equal ranks: the
/// storage of the priority and deadline orders, which differ only in the rank they give a ticket.
///
/// It is one `OrderedCostTree` whose keys are the tickets themselves, ordered by a rank computed
/// from the ticket: 80 bytes a ticket (the ticket, its cost, its subtree's cost, two child
/// numbers), no table by id, since a ticket is removed by what it is ordered by. Every operation
/// takes O(log n); the subtree costs answer "the cost queued before this rank".
struct RankedTickets<Ranking: TicketRanking>: Sendable {
    private var tree: OrderedCostTree<ByRank<Ranking>>

    /// An empty set ranked by `ranking`.
    init(ranking: Ranking) {
        tree = OrderedCostTree(ordering: ByRank(ranking: ranking))
    }

    /// How many tickets are held.
    var count: Int { tree.count }

    /// The nodes the tree has room for (zero once a large set has drained).
    var reservedCapacity: Int { tree.reservedCapacity }

    /// Adds a ticket behind every ticket of smaller rank, or of equal rank and smaller id.
    mutating func insert(_ ticket: WaitTicket) {
        tree.insert(ticket, cost: ticket.cost)
    }

    /// The ticket of the smallest rank, the smallest id among equals.
    var first: WaitTicket? { tree.first?.key }

    /// Removes the ticket; returns whether it was held.
    mutating func remove(_ ticket: WaitTicket) -> Bool {
        tree.remove(ticket) != nil
    }

    /// The cost of every ticket a newcomer arriving now would come behind: every ticket of equal
    /// or smaller rank (a newcomer's id is larger than any queued).
    func costBefore(_ newcomer: WaitTicket) -> Int {
        var last = newcomer
        last.id = .max
        return tree.costBefore(last)
    }
}
