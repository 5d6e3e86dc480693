public import BulwarkCore

/// A hot limit spent locally: the node takes a batch of capacity from Redis in one script call and
/// admits from it in memory for at most `lease`; what it did not use goes back when it takes its
/// next batch (or on ``release()``).
///
///     let shared = try RedisRateLimiter(client: redis, key: "api:{global}:rpm",
///                                       limit: .fixedWindow(limit: 60_000, window: .seconds(60)))
///     let leased = try RedisLeasedLimiter(shared, batch: 100, lease: .seconds(1))
///     if try await leased.tryAcquire() { … }
///
/// Only one call in `batch` (or fewer, as the batches run out) goes to Redis; once Redis refuses a
/// batch, calls are refused locally for the retry-after it gave (capacity freed sooner by a refund
/// elsewhere is seen only then).
///
/// **Accuracy.** Capacity is counted in Redis when a batch is taken, so what the nodes hold is
/// never more than the limit granted. But a batch taken near the end of a window can be spent in
/// the next one (for at most `lease`, with `lease ≤ window`), so over any window the nodes together
/// admit at most
///
///     limit + N × batch          (N nodes)
///
/// and the same bound holds for sliding windows over any interval of their length, and for a token
/// bucket over any interval beyond its own burst. A node holding a batch it does not use keeps
/// that capacity from others until its lease ends (under-admission, at most `N × batch` at a time);
/// a node that dies loses its unspent batch for the rest of the window. The test
/// `RedisLeasingTests` drives four nodes over many windows and checks the bound.
public actor RedisLeasedLimiter {
    /// The shared limiter batches are taken from.
    public let shared: RedisRateLimiter
    /// How much one Redis call takes.
    public let batch: Int
    /// How long a batch may be spent; what is left then goes back.
    public let lease: Duration
    private let leaseNanoseconds: Int64
    private var units = 0
    private var admission: RedisAdmission?
    private var expiresAt: Int64 = .min
    /// Until when Redis said no batch fits: calls are refused locally until then.
    private var refusedUntil: Int64 = .min
    private var fetching: Task<Bool, any Error>?

    /// Leases batches of `batch` from `shared`, each spent within `lease`.
    ///
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` for a batch outside
    ///   `1...limit` or a lease that is not positive.
    public init(_ shared: RedisRateLimiter, batch: Int, lease: Duration) throws(BulwarkError) {
        guard (1...shared.limit.limit).contains(batch) else {
            throw .invalidConfiguration(field: "batch", rule: "must be in 1...\(shared.limit.limit), got \(batch)")
        }
        self.shared = shared
        self.batch = batch
        self.lease = lease
        self.leaseNanoseconds = try Validation.positiveNanoseconds(lease, field: "lease")
    }

    /// The units of the current batch not yet spent.
    public var held: Int { units }

    /// Takes `cost` from the local batch, or from a new batch when it runs out; never waits for
    /// capacity (only for Redis when a batch is due).
    ///
    /// - Throws: ``BulwarkError/invalidArgument(field:rule:)`` for a cost outside `1...batch`, and
    ///   what the shared limiter throws.
    public func tryAcquire(cost: Int = 1) async throws -> Bool {
        guard (1...batch).contains(cost) else {
            throw BulwarkError.invalidArgument(field: "cost", rule: "must be in 1...\(batch), got \(cost)")
        }
        while true {
            let now = shared.clock.nowNanoseconds
            if units >= cost, now < expiresAt {
                units -= cost
                return true
            }
            if now < refusedUntil { return false }
            if let fetching {
                // Another caller is taking a batch: use it, or share its refusal.
                guard try await fetching.value else { return false }
                continue
            }
            let task = Task { try await self.takeBatch(cost: cost) }
            fetching = task
            defer { fetching = nil }
            guard try await task.value else { return false }
        }
    }

    /// Gives back what is left of the current batch (also done when its lease ends).
    public func release() async throws {
        let (left, from) = (units, admission)
        units = 0
        admission = nil
        expiresAt = .min
        if left > 0, let from { try await shared.refund(cost: left, admission: from) }
    }

    /// Returns the old batch's rest, then takes a new batch: `batch`, or as much as remains (at
    /// least `cost`) when a whole batch does not fit.
    private func takeBatch(cost: Int) async throws -> Bool {
        try await release()
        var asked = batch
        var answer = try await shared.tryAcquire(cost: asked)
        if !answer.isAllowed, answer.source == .redis, answer.decision.remaining >= cost {
            asked = answer.decision.remaining
            answer = try await shared.tryAcquire(cost: asked)
        }
        guard answer.isAllowed else {
            if answer.source == .redis {
                refusedUntil = shared.clock.nowNanoseconds.addingSaturating(answer.decision.retryAfterNanoseconds)
            }
            return false
        }
        // A decision of the failure policy (Redis away) grants this call only, not a batch.
        units = answer.source == .redis ? asked : cost
        admission = answer.admission
        expiresAt = shared.clock.nowNanoseconds.addingSaturating(leaseNanoseconds)
        return true
    }
}
