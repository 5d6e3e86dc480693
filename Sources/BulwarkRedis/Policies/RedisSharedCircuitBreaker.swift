public import BulwarkCircuitBreaker
public import BulwarkCore

/// A circuit breaker whose *open* state is shared through Redis: when one node's breaker opens,
/// every node's opens, with Redis traffic bounded by time, not by calls.
///
///     let local = try CircuitBreaker(configuration: CircuitBreakerConfiguration(minimumCalls: 20), clock: ContinuousClock())
///     let breaker = RedisSharedCircuitBreaker(local: local, client: redis, key: "api:{model:gpt}:breaker")
///     let answer = try await breaker.execute(context) { _ in try await provider.complete(prompt) }
///
/// Each node decides every call with its own in-memory breaker (nanoseconds, no Redis). Around it:
/// - when the local breaker opens, the node writes `SET <key> <node> PX <open duration>`: one
///   write per opening;
/// - at most once per `syncInterval`, after a call, the node reads `PTTL <key>` in the background
///   (the call never waits for it); a positive answer opens a closed local breaker. A node
///   therefore follows another's opening within `syncInterval` plus a round trip of its next call;
/// - when the local breaker closes again (its probes succeeded), the node deletes the key.
///
/// So a node makes at most one read per `syncInterval` and two writes per opening, whatever its
/// call rate. Each node then half-opens and probes on its own clock (a probe that fails re-opens
/// and re-publishes). If Redis cannot answer, the node simply runs on its local breaker.
public final class RedisSharedCircuitBreaker<C: NanosecondClock>: OutcomePolicy {
    /// The breaker that decides each call on this node.
    public let local: CircuitBreaker<C>
    /// The key holding the shared opening.
    public let key: String
    /// The longest a node goes between reads of the shared state while it has calls.
    public let syncInterval: Duration
    private let client: RedisClient
    private let node: String
    private let openMilliseconds: Int64
    private let intervalNanoseconds: Int64
    private let sync = LockedValue(SyncState())

    private struct SyncState {
        var lastRead: Int64 = .min
        var reading = false
        var published: CircuitState = .closed
    }

    /// Shares `local`'s openings through `key`.
    ///
    /// - Parameters:
    ///   - local: This node's breaker: its openings are published, and the others' are applied to it.
    ///   - client: The Redis client the openings go through.
    ///   - key: The Redis key every node of one shared breaker names.
    ///   - syncInterval: The least time between two reads of the shared opening (each in the
    ///     background, after a call).
    ///   - openDuration: How long a published opening holds for the other nodes; by default the
    ///     local breaker's fixed open duration, or its initial one when exponential.
    public init(
        local: CircuitBreaker<C>,
        client: RedisClient,
        key: String,
        syncInterval: Duration = .seconds(1),
        openDuration: Duration? = nil
    ) {
        self.local = local
        self.client = client
        self.key = key
        self.syncInterval = syncInterval
        self.intervalNanoseconds = syncInterval.saturatingNanoseconds
        let open: Duration =
            switch local.configuration.openDuration {
            case .fixed(let duration): duration
            case .exponential(let initial, _, _): initial
            }
        self.openMilliseconds = max(1, (openDuration ?? open).saturatingNanoseconds / 1_000_000)
        self.node = RedisKeys.uniqueID()
    }

    /// Runs `operation` through the local breaker, then shares what changed.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let outcome = await local.executeOutcome(context, operation)
        afterCall()
        return outcome
    }

    /// Not ready while the local breaker is not.
    public func readiness(for context: ResilienceContext) -> Readiness {
        local.readiness(for: context)
    }

    /// Publishes a local opening or closing, and starts a read of the shared state when one is due.
    func afterCall() {
        let state = local.state
        let now = local.clock.nowNanoseconds
        let (publish, read) = sync.withLock { sync -> (CircuitState?, Bool) in
            var publish: CircuitState?
            // Half-open is noted (so that a re-opening is published again) but not written.
            if state != sync.published, state == .open || state == .closed || state == .halfOpen {
                sync.published = state
                if state != .halfOpen { publish = state }
            }
            let due = !sync.reading && (sync.lastRead == .min || now - sync.lastRead >= intervalNanoseconds)
            if due {
                sync.reading = true
                sync.lastRead = now
            }
            return (publish, due)
        }
        guard publish != nil || read else { return }
        Task { await self.share(publish: publish, read: read) }
    }

    /// One write (an opening or a closing) and one read, as due; failures leave the node local.
    func share(publish: CircuitState?, read: Bool) async {
        switch publish {
        case .open?: _ = try? await client.send(["SET", key, node, "PX", String(openMilliseconds)], key: key)
        case .closed?: _ = try? await client.send(["DEL", key], key: key)
        default: break
        }
        guard read else { return }
        defer { sync.withLock { $0.reading = false } }
        guard let remaining = try? await client.send(["PTTL", key], key: key).integer, remaining > 0 else { return }
        if local.state == .closed {
            // Another node opened it: open here too, and do not publish this opening back.
            sync.withLock { $0.published = .open }
            local.transition(to: .open)
        }
    }
}
