public import BulwarkCore
public import BulwarkEngine
public import Synchronization

/// Any rate-limiting algorithm, one state per key (API key, user, tenant, model, IP), with groups
/// of keys overriding the default configuration, in bounded memory.
///
/// Each key's partition keeps only its algorithm's `State` (16 bytes for a token bucket) and the
/// index of its group; keys are spread over shards that each have their own lock, so unrelated
/// keys rarely contend. Decisions are exactly those of a separate limiter per key: a partition is
/// created at its first use and dropped freely when its state is equivalent to a fresh one (a full
/// bucket, an empty window), which changes no decision.
///
/// **Bounded memory.** Each insertion sweeps four slots of its shard and drops the partitions there
/// equivalent to fresh, so memory follows the live set without any background task (``sweep()`` does a full
/// pass, and ``run(every:)`` repeats it, for an application that owns the loop). When the limiter
/// holds ``maximumPartitions``, a new key's shard sweeps sixteen more, then samples five of its
/// partitions: a fresh one among them is dropped, or else the least recently updated, and
/// ``forcedEvictionCount`` counts that forced eviction: its key then
/// starts again from a fresh state, so it may be admitted up to one full limit more than it would
/// have been (a token bucket refills at once; a window forgets its count). Partitions with waiters
/// are never dropped.
///
/// **Groups.** `group(key)` names a key's group, whose configuration overrides the default (an
/// API gateway's "VIP keys get 600 per minute, others 60"). It is asked once, when the partition is
/// created; ``removePartition(_:)`` makes a key ask again.
///
/// **Waiting.** ``acquire(_:cost:options:)`` waits in the shared engine: while a key has waiters,
/// its state moves into an `InMemoryRateLimiter` with its own waiting room (FIFO by default), and
/// back when the last waiter leaves.
///
///     let perKey = try PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(
///         configuration: .init(capacity: 60, every: .seconds(60)),
///         groups: ["vip": .init(capacity: 600, every: .seconds(60))],
///         group: { key in vipKeys.contains(key) ? "vip" : nil },
///         clock: ContinuousClock())
///     let decision = try perKey.tryAcquire(apiKey)
public final class PartitionedRateLimiter<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock>: Sendable {
    @usableFromInline typealias Shard = PartitionShard<Key, Algorithm, C>

    /// The clock the limiter reads and its waiters sleep on.
    public let clock: C

    /// Where the limiter's events go: denials, and the refusals of waiting callers.
    public let events = EventChannel(defaultName: "Partitioned")
    /// The most partitions kept at once. A shard with nothing to drop (empty, or all its sampled
    /// partitions waiting) still admits its new key, so the count can pass the maximum by at most
    /// one per shard.
    public let maximumPartitions: Int
    /// The names of the groups that override the default configuration.
    public let groupNames: [String]

    @usableFromInline let templates: [Algorithm]
    @usableFromInline let groupIndex: [String: Int]
    @usableFromInline let groupOf: @Sendable (Key) -> String?
    @usableFromInline let shards: [LockedValue<Shard>]
    /// `64 − log2(shards)`: the shift that leaves a hash's shard bits.
    @usableFromInline let shardShift: Int
    let queueLimit: Int
    let order: any WaitOrder
    /// The longest a caller may wait; `nil` for no bound but its deadline.
    public let maximumWait: Duration?
    @usableFromInline let forcedEvictions: Atomic<Int> = Atomic(0)
    /// How many partitions all shards hold (changed only when one is created or dropped).
    @usableFromInline let partitions: Atomic<Int> = Atomic(0)

    /// Creates a partitioned limiter.
    ///
    /// - Parameters:
    ///   - configuration: The configuration of keys in no group.
    ///   - groups: Configurations by group name, overriding the default for their keys.
    ///   - group: The group of a key, or `nil` for the default; asked when a partition is created.
    ///   - maximumPartitions: The most partitions kept at once.
    ///   - shards: How many independently locked shards the keys are spread over (a power of two).
    ///   - queueLimit: The most waiters per key.
    ///   - order: The order in which a key's waiters are served; FIFO by default.
    ///   - maximumWait: The longest a caller may wait; `nil` for no bound but its deadline.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field (a group's
    ///   field as `groups[name].field`) and the rule.
    public init(
        configuration: Algorithm.Configuration,
        groups: [String: Algorithm.Configuration] = [:],
        group: @escaping @Sendable (Key) -> String? = { _ in nil },
        maximumPartitions: Int = 100_000,
        shards: Int = 16,
        queueLimit: Int = InMemoryRateLimiter<Algorithm, C>.defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        maximumWait: Duration? = nil,
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        _ = try Validation.atLeast(1, maximumPartitions, field: "maximumPartitions")
        guard shards >= 1, shards <= 4_096, shards & (shards - 1) == 0 else {
            throw .invalidConfiguration(field: "shards", rule: "must be a power of two between 1 and 4096 (got \(shards))")
        }
        let now = clock.nowNanoseconds
        let names = groups.keys.sorted()
        var templates = [try Algorithm(configuration: configuration, now: now)]
        for name in names {
            do {
                templates.append(try Algorithm(configuration: groups[name]!, now: now))
            } catch {
                guard case .invalidConfiguration(let field, let rule) = error else { throw error }
                throw .invalidConfiguration(field: "groups[\(name)].\(field)", rule: rule)
            }
        }
        // Every template must also make a valid waiting room.
        for template in templates {
            _ = try InMemoryRateLimiter(algorithm: template, queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock)
        }
        self.clock = clock
        self.maximumPartitions = maximumPartitions
        self.groupNames = names
        self.templates = templates
        self.groupIndex = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0 + 1) })
        self.groupOf = group
        self.shards = (0 ..< shards).map { LockedValue(Shard(seed: UInt64($0) &* 0x2545_F491_4F6C_DD1D &+ 1)) }
        self.shardShift = Int.bitWidth - shards.trailingZeroBitCount
        self.queueLimit = queueLimit
        self.order = order
        self.maximumWait = maximumWait
    }

    /// How many partitions are kept now.
    public var partitionCount: Int {
        partitions.load(ordering: .relaxed)
    }

    /// How many partitions were dropped while not equivalent to fresh, because a shard was full.
    public var forcedEvictionCount: Int {
        forcedEvictions.load(ordering: .relaxed)
    }

    /// How many partitions have waiters (their state lives in a waiting room meanwhile).
    public var waitingPartitionCount: Int {
        shards.reduce(0) { count, shard in count + shard.withLock { $0.busy.count } }
    }

    /// Takes `cost` from `key`'s partition if it is available now (and nobody waits on that key);
    /// never waits.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `cost` is negative or above
    ///   the limit of the key's group, or the key's group is not configured.
    @inlinable
    public func tryAcquire(_ key: Key, cost: Int = 1) throws(BulwarkError) -> RateLimitDecision {
        let decision = try tryAdmit(key, cost: cost, at: clock.nowNanoseconds).decision
        if !decision.isAllowed { events.emit(.limiterDenied(cost: cost, retryAfter: decision.retryAfter)) }
        return decision
    }

    /// Takes `cost` from `key`'s partition, waiting in that key's queue until it is admitted, the
    /// deadline passes or the task is cancelled.
    ///
    /// - Throws: What `InMemoryRateLimiter.acquire(cost:options:)` throws, and
    ///   `BulwarkError/invalidArgument(field:rule:)` for a bad cost or group.
    @discardableResult
    public func acquire(_ key: Key, cost: Int = 1, options: WaitOptions = WaitOptions()) async throws -> RateLimitDecision {
        try await admit(key, cost: cost, options: options).decision
    }

    /// Drops every partition equivalent to a fresh one now; returns how many it dropped. O(n).
    @discardableResult
    public func sweep() -> Int {
        let now = clock.nowNanoseconds
        let removed = shards.reduce(0) { removed, shard in
            removed + shard.withLock { shard in
                shard.cursor = 0
                // Every slot, plus one more look at each slot a removal refilled.
                return shard.sweep(shard.table.capacity + shard.table.count, templates: templates, at: now)
            }
        }
        partitions.subtract(removed, ordering: .relaxed)
        return removed
    }

    /// Sweeps every `interval` until the task is cancelled, then returns: for an application that
    /// prefers a periodic full sweep to the incremental one (it has the shape of a
    /// swift-service-lifecycle service; the library never starts it by itself).
    public func run(every interval: Duration) async {
        while !Task.isCancelled {
            sweep()
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    /// Forgets `key`'s partition (unless it has waiters): its next use starts from a fresh state
    /// and asks its group again. Returns whether a partition was removed.
    @discardableResult
    public func removePartition(_ key: Key) -> Bool {
        let hash = PartitionTable<Key, Shard.Entry>.hash(of: key)
        let removed = shard(for: hash).withLock { shard in
            guard let slot = shard.table.find(key, hash: hash), !shard.table.value(at: slot).pointee.isBusy else { return false }
            shard.table.remove(at: slot)
            return true
        }
        if removed { partitions.subtract(1, ordering: .relaxed) }
        return removed
    }

    /// The shard of a key whose table hash is `hash`: chosen by its high bits, so that the slots of
    /// one shard's table (chosen by the low bits) stay evenly used.
    @inlinable
    func shard(for hash: Int) -> LockedValue<Shard> {
        shards[Int(truncatingIfNeeded: UInt(bitPattern: hash) >> shardShift)]
    }

    /// The template of `key`'s group.
    @usableFromInline
    func template(for key: Key) throws(BulwarkError) -> Int {
        guard let name = groupOf(key) else { return 0 }
        guard let index = groupIndex[name] else {
            throw .invalidArgument(field: "group", rule: "must name a configured group (got \"\(name)\" for \(key))")
        }
        return index
    }

    @usableFromInline
    func invalidCost(_ cost: Int, limit: Int) -> BulwarkError {
        .invalidArgument(
            field: "cost",
            rule: cost < 0 ? "must be at least 0 (got \(cost))" : "must be at most the limit \(limit) (got \(cost))"
        )
    }
}

extension PartitionedRateLimiter: ResiliencePolicy, RateLimitingPolicy, OutcomePolicy where Key == String {
    /// Not ready when the context has no partition key, or a probe of its key's partition (which
    /// takes nothing and creates no partition) shows less remaining than the context's cost; the
    /// retry-after is then not given.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard let key = context.partitionKey, context.cost >= 0,
              let probe = try? tryAdmit(key, cost: 0, at: clock.nowNanoseconds).decision else {
            return .notReady(retryAfter: nil)
        }
        return probe.remaining >= context.cost ? .ready : .notReady(retryAfter: nil)
    }

    /// Waits for the context's cost on the partition of its `partitionKey` (until the context's
    /// deadline), then runs `operation`; a refusal (or a missing key) is returned as a value.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        guard let key = context.partitionKey else {
            return .rejected(.invalidArgument(field: "partitionKey", rule: "must be set for a partitioned limiter"))
        }
        switch await admission(key, cost: context.cost, options: context.waitOptions, context: context) {
        case .success: return await operation(context)
        case .rejected(let error): return .rejected(error)
        case .failure(let error): return .failure(error)
        }
    }
}
