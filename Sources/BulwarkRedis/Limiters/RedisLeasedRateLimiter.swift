public import BulwarkCore

/// A hot limit spent locally: the node takes a batch of capacity from Redis in one script call and
/// admits from it in memory for at most `lease`; what it did not use goes back when it takes its
/// next batch (or on ``release()``).
///
///     let shared = try RedisRateLimiter(client: redis, key: "api:{global}:rpm",
///                                       limit: .fixedWindow(limit: 60_000, window: .seconds(60)))
///     let leased = try RedisLeasedRateLimiter(shared, batch: 100, lease: .seconds(1))
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
public final class RedisLeasedRateLimiter: Sendable {
    /// The shared limiter batches are taken from.
    public let shared: RedisRateLimiter
    /// How much one Redis call takes.
    public let batch: Int
    /// How long a batch may be spent; what is left then goes back.
    public let lease: Duration
    private let leaseNanoseconds: Int64
    private let state = LockedValue(State())

    private struct State {
        var units = 0
        var admission: RedisAdmission?
        var expiresAt: Int64 = .min
        /// Until when Redis said no batch fits: calls are refused locally until then.
        var refusedUntil: Int64 = .min
        /// The batch being taken, which callers that find the local batch spent wait for.
        var fetching: Task<Bool, any Error>?
    }

    private enum Step {
        case allowed
        case refused
        case wait(Task<Bool, any Error>)
    }

    /// Leases batches of `batch` from `shared`, each spent within `lease`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a batch outside
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
    public var held: Int { state.withLock { $0.units } }

    /// Takes `cost` from the local batch (a lock, no await), or from a new batch when it runs out;
    /// never waits for capacity (only for Redis when a batch is due, one fetch for all callers).
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a cost outside `1...batch`, and
    ///   what the shared limiter throws.
    public func tryAcquire(cost: Int = 1) async throws -> Bool {
        guard (1...batch).contains(cost) else {
            throw BulwarkError.invalidArgument(field: "cost", rule: "must be in 1...\(batch), got \(cost)")
        }
        while true {
            let now = shared.clock.nowNanoseconds
            let step = state.withLock { state -> Step in
                if state.units >= cost, now < state.expiresAt {
                    state.units -= cost
                    return .allowed
                }
                if now < state.refusedUntil { return .refused }
                if let fetching = state.fetching { return .wait(fetching) }
                let fetching = Task { try await self.takeBatch(cost: cost) }
                state.fetching = fetching
                return .wait(fetching)
            }
            switch step {
            case .allowed: return true
            case .refused: return false
            case .wait(let fetching): guard try await fetching.value else { return false }
            }
        }
    }

    /// Gives back what is left of the current batch (also done when the next batch is taken).
    public func release() async throws {
        let (left, from) = state.withLock { state in
            defer {
                state.units = 0
                state.admission = nil
                state.expiresAt = .min
            }
            return (state.units, state.admission)
        }
        if left > 0, let from { try await shared.refund(cost: left, admission: from) }
    }

    /// Returns the old batch's rest, then takes a new batch: `batch`, or as much as remains (at
    /// least `cost`) when a whole batch does not fit. The result is installed, and the fetch
    /// cleared, under one lock: no caller waits on a finished fetch whose batch is already spent.
    private func takeBatch(cost: Int) async throws -> Bool {
        do {
            try await release()
            var asked = batch
            var answer = try await shared.tryAcquire(cost: asked)
            if !answer.isAllowed, answer.source == .redis, answer.decision.remaining >= cost {
                asked = answer.decision.remaining
                answer = try await shared.tryAcquire(cost: asked)
            }
            let now = shared.clock.nowNanoseconds
            return state.withLock { state in
                state.fetching = nil
                guard answer.isAllowed else {
                    if answer.source == .redis {
                        state.refusedUntil = now.addingSaturating(answer.decision.retryAfterNanoseconds)
                    }
                    return false
                }
                // A decision of the failure policy (Redis away) grants this call only, not a batch.
                state.units = answer.source == .redis ? asked : cost
                state.admission = answer.admission
                state.expiresAt = now.addingSaturating(leaseNanoseconds)
                return true
            }
        } catch {
            state.withLock { $0.fetching = nil }
            throw error
        }
    }
}
