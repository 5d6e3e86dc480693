public import BulwarkCore
public import BulwarkEngine

/// Shares a queue between partitions (tenants, users, API keys) in proportion to their weights,
/// by cost or by count: a heavy partition cannot starve a light one.
///
/// The order is start-time fair queuing (Goyal, Vin and Cheng, 1996), a virtual-time scheme:
/// - each partition is a first-in-first-out queue of its own tickets;
/// - the partition's head carries a *start tag*, `max(V, F)`, where `V` is the virtual time (the
///   start tag of the ticket served last) and `F` the partition's *finish tag*, which grows by
///   `cost / weight` (or `1 / weight`) with every ticket of the partition served;
/// - the head with the smallest start tag is served next; ties go round-robin.
///
/// - when the queue empties (the end of a busy period) virtual time moves to the largest finish
///   tag given, as in the original algorithm, so the next busy period starts with a clean slate.
///
/// So every backlogged partition receives a share of the served cost proportional to its weight,
/// within one ticket, whatever the others send; a partition that was idle rejoins at the current
/// virtual time (it cannot bank credit); a ticket that times out or is cancelled costs its
/// partition nothing. Tags are integers (`Int128`, cost scaled by 2³²), so there is no drift.
///
/// Memory is proportional to the partitions that still matter, not to every key ever seen: a
/// partition is kept while it has tickets queued, and after that only while its finish tag is
/// ahead of virtual time (until then it would rejoin later than a fresh one). Idle partitions are
/// dropped once virtual time passes their finish tag (swept whenever the table has doubled since
/// the last sweep), and all of them when the queue empties; dropping one never changes a
/// decision, since a fresh partition would get the same start tag. The tables give their storage
/// back once they are less than a quarter full, and entirely when the queue empties.
///
/// Why not deficit round robin: DRR is O(1) but needs a quantum at least the largest cost to stay
/// O(1), serves in bursts of a quantum, and cannot say where a newcomer stands; start-time fair
/// queuing is O(log P) for P backlogged partitions, exact for any mix of costs, and its order
/// is a sorted tree the predicted wait can read.
///
/// The wait predicted for a newcomer is a fluid estimate: its partition's queued cost, plus what
/// the other backlogged partitions would be served meanwhile at their weights (capped by what
/// they have queued in total).
///
/// Calls without a partition key share the partition `""`. Every operation takes O(log P),
/// removal from the middle of a partition O(1) amortised.
///
///     let order = try FairWaitOrder(weights: ["enterprise": 4], share: .cost)
///     let limiter = try TokenBucketRateLimiter(capacity: 40_000, refill: 40_000, every: .seconds(60), order: order)
///     try await limiter.acquire(cost: 1_200, partitionKey: "tenant-a")
public struct FairWaitOrder: WaitOrder {
    /// What a partition's fair share is measured in.
    public enum Share: Sendable, Hashable {
        /// The cost served (tokens, bytes): a 10,000-token request weighs 1,000 times a 10-token one.
        case cost
        /// The number of tickets served, whatever their cost.
        case count
    }

    /// A backlogged partition in the tree: its head's start tag, then the order it got it in.
    struct Key: Comparable, Sendable {
        var tag: Int128
        var sequence: UInt64
        var partition: String
        static func < (a: Self, b: Self) -> Bool { (a.tag, a.sequence) < (b.tag, b.sequence) }
        static func == (a: Self, b: Self) -> Bool { a.tag == b.tag && a.sequence == b.sequence }
    }

    struct Partition: Sendable {
        var tickets = TicketSequence()
        var weight: Int
        /// The finish tag: where the partition's service so far ends in virtual time.
        var finish: Int128
        var queuedCost = 0
        /// Where the partition stands in the tree while it is backlogged.
        var key: Key?
    }

    /// The cost scale of the tags, so that `cost / weight` stays an integer to within 2⁻³².
    static let scale: Int128 = 1 << 32

    /// The weight of partitions not named in ``weights``.
    public let defaultWeight: Int
    /// The weights of named partitions.
    public let weights: [String: Int]
    /// What shares are measured in.
    public let share: Share

    private var partitions: [String: Partition] = [:]
    private var backlogged = CostTree<Key>()
    /// How many tickets are queued.
    public private(set) var count = 0
    private var virtualTime: Int128 = 0
    /// The largest finish tag given: virtual time at the end of a busy period.
    private var largestFinish: Int128 = 0
    private var backloggedWeight = 0
    private var nextSequence: UInt64 = 0
    private var sweepAt = 64

    /// Creates an empty order.
    ///
    /// - Parameters:
    ///   - weights: Weights of named partitions (at least 1 each); a partition with weight 2 is
    ///     served twice the share of one with weight 1.
    ///   - defaultWeight: The weight of every other partition (at least 1).
    ///   - share: Whether shares are measured in cost (the default) or in tickets.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming a weight below 1.
    public init(weights: [String: Int] = [:], defaultWeight: Int = 1, share: Share = .cost) throws(BulwarkError) {
        guard defaultWeight >= 1 else {
            throw .invalidConfiguration(field: "defaultWeight", rule: "must be at least 1 (got \(defaultWeight))")
        }
        for (name, weight) in weights.sorted(by: { $0.key < $1.key }) where weight < 1 {
            throw .invalidConfiguration(field: "weights[\"\(name)\"]", rule: "must be at least 1 (got \(weight))")
        }
        self.weights = weights
        self.defaultWeight = defaultWeight
        self.share = share
    }

    /// How many partitions have tickets queued.
    public var backloggedPartitions: Int { backlogged.count }

    /// How many partitions the order keeps state for: those with tickets queued, and idle ones
    /// whose finish tag is still ahead of virtual time.
    package var trackedPartitions: Int { partitions.count }

    /// The entries the order's tables have room for (zero once it has drained).
    package var reservedCapacity: Int {
        partitions.capacity + backlogged.reservedCapacity
    }

    /// Queues the ticket at the back of its partition.
    public mutating func enqueue(_ ticket: WaitTicket) {
        let name = ticket.partitionKey ?? ""
        // Taken out of the dictionary while it changes, so its storage is not copied.
        var partition = partitions.removeValue(forKey: name) ?? Partition(
            weight: weights[name] ?? defaultWeight, finish: 0
        )
        partition.tickets.append(ticket)
        partition.queuedCost += ticket.cost
        count += 1
        if partition.key == nil {
            backloggedWeight += partition.weight
            partition.key = activate(name, tag: max(virtualTime, partition.finish))
        }
        partitions[name] = partition
    }

    /// The head of the partition with the smallest start tag.
    public func next(at now: Int64) -> WaitTicket? {
        backlogged.first.flatMap { partitions[$0.key.partition]?.tickets.first }
    }

    /// Removes a ticket that leaves unserved: its partition is charged nothing for it.
    @discardableResult
    public mutating func remove(_ ticket: WaitTicket) -> Bool {
        take(ticket, served: false)
    }

    /// Removes the served head, advancing virtual time and charging its partition.
    public mutating func removeServed(_ ticket: WaitTicket) {
        take(ticket, served: true)
    }

    @discardableResult
    private mutating func take(_ removed: WaitTicket, served: Bool) -> Bool {
        let name = removed.partitionKey ?? ""
        // Taken out of the dictionary while it changes, so its storage is not copied.
        guard var partition = partitions.removeValue(forKey: name) else { return false }
        let wasHead = partition.tickets.first?.id == removed.id
        guard let ticket = partition.tickets.remove(id: removed.id) else {
            partitions[name] = partition
            return false
        }
        count -= 1
        defer { if count == 0 { endBusyPeriod() } }
        partition.queuedCost -= ticket.cost
        guard wasHead, let key = partition.key else {
            partitions[name] = partition  // from the middle of its partition: nothing else changes
            return true
        }
        backlogged.remove(key)
        if served {
            // Virtual time moves to the served ticket's start tag; its partition's service ends
            // `cost / weight` later.
            virtualTime = max(virtualTime, key.tag)
            let units = Int128(share == .cost ? ticket.cost : 1)
            partition.finish = key.tag + units * Self.scale / Int128(partition.weight)
            largestFinish = max(largestFinish, partition.finish)
        }
        if partition.tickets.count > 0 {
            // A head that left unserved keeps its partition's place among equal tags.
            partition.key = activate(name, tag: max(virtualTime, partition.finish), sequence: served ? nil : key.sequence)
            partitions[name] = partition
        } else {
            partition.key = nil
            backloggedWeight -= partition.weight
            // Kept only while a fresh partition would start earlier than it.
            if partition.finish > virtualTime { partitions[name] = partition }
            forgetIdlePartitions()
        }
        return true
    }

    /// Puts a partition in the tree with its head's start tag, behind the partitions of equal
    /// tag (or at `sequence` among them).
    private mutating func activate(_ name: String, tag: Int128, sequence: UInt64? = nil) -> Key {
        let key = Key(tag: tag, sequence: sequence ?? nextSequence, partition: name)
        if sequence == nil { nextSequence += 1 }
        backlogged.insert(key, cost: 0)
        return key
    }

    /// Drops idle partitions whose finish tag virtual time has passed (a fresh one would be the
    /// same), once the partitions kept have doubled since the last sweep: memory stays
    /// proportional to the partitions in use, in O(1) amortised time.
    private mutating func forgetIdlePartitions() {
        guard partitions.count > sweepAt else {
            partitions.releaseUnusedCapacity()
            return
        }
        let now = virtualTime
        partitions = partitions.filter { $0.value.key != nil || $0.value.finish > now }
        partitions.releaseUnusedCapacity()
        sweepAt = 2 * partitions.count + 64
    }

    /// The queue is empty: virtual time moves to the largest finish tag given (Goyal, Vin and
    /// Cheng's rule for the end of a busy period), where every partition would rejoin as a fresh
    /// one, so all are forgotten and the tables' storage given back.
    private mutating func endBusyPeriod() {
        virtualTime = max(virtualTime, largestFinish)
        partitions.removeAll(keepingCapacity: partitions.capacity <= 64)
        backlogged.removeAll()
        sweepAt = 64
    }

    /// A fluid estimate of the cost served before the newcomer: its partition's queue, plus what
    /// the other backlogged partitions are served, at their weights, until the newcomer's start
    /// tag (capped by what they hold).
    public func queuedCostAhead(of newcomer: WaitTicket, totalQueuedCost: Int) -> Int {
        let name = newcomer.partitionKey ?? ""
        let own = partitions[name]
        let weight = Int128(own?.weight ?? weights[name] ?? defaultWeight)
        let ownCost = own?.queuedCost ?? 0
        let ownCount = own?.tickets.count ?? 0
        let othersWeight = Int128(backloggedWeight) - (own?.key != nil ? weight : 0)
        let othersCost = Int128(totalQueuedCost - ownCost)
        let othersCount = Int128(count - ownCount)
        guard othersCount > 0 else { return ownCost }
        // The newcomer starts once its partition's queue is served, from its finish tag on.
        let ownUnits = Int128(share == .cost ? ownCost : ownCount)
        let start = max(virtualTime, own?.finish ?? 0) + ownUnits * Self.scale / weight
        let othersUnits = (start - virtualTime) * othersWeight / Self.scale
        let served = share == .cost ? othersUnits : othersUnits * othersCost / othersCount
        return ownCost + Int(min(othersCost, served))
    }
}
