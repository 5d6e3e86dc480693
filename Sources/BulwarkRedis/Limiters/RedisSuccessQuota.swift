public import BulwarkCore

/// Quotas per user group on total requests and on *successful* requests, shared through Redis, as
/// an API gateway keeps them: a failed call uses up the total but not the success quota.
///
///     let quotas = try RedisSuccessQuota(client: redis, prefix: "gateway",
///         defaults: .init(total: .fixedWindow(limit: 1_000, window: .seconds(3600)),
///                         successes: .fixedWindow(limit: 500, window: .seconds(3600))),
///         overrides: ["enterprise": .init(total: .fixedWindow(limit: 10_000, window: .seconds(3600)),
///                                         successes: .fixedWindow(limit: 8_000, window: .seconds(3600)))])
///     let answer = try await quotas.execute(group: "free") { try await backend.call() }
///
/// **Round trips.** ``begin(group:)`` takes one unit of both quotas in one script call (a chain of
/// the two, all-or-nothing); ``finish(_:succeeded:)`` gives the success unit back in one more call
/// when the call failed, and makes no call when it succeeded.
///
/// **A node that dies between the two** leaves the success unit taken: an unreported call counts
/// as successful. The pair stays consistent (never a success without its request) and errs on the
/// side of the quota. A group's keys share one hash tag, `<prefix>:{group:<name>}:total` and
/// `…:successes`, so the pair is one slot on a cluster.
public final class RedisSuccessQuota: Sendable {
    /// A group's two limits.
    public struct Limits: Sendable, Hashable {
        /// Every request admitted.
        public var total: RedisLimit
        /// The requests that succeeded (or have not reported yet).
        public var successes: RedisLimit

        /// Creates a group's limits.
        public init(total: RedisLimit, successes: RedisLimit) {
            self.total = total
            self.successes = successes
        }
    }

    /// The limits of every group without an override.
    public let defaults: Limits
    /// The limits of the groups that have their own.
    public let overrides: [String: Limits]
    /// What the quota does when Redis cannot answer: `.failOpen` or `.failClosed`.
    public let failurePolicy: RedisFailurePolicy
    /// Where the quota reports an outage and its end.
    public let events: EventChannel
    private let client: RedisClient
    private let keys: RedisKeys
    private let timeout: Duration?
    private let outage: RedisOutage

    /// Creates the quotas; throws `BulwarkError/invalidConfiguration(field:rule:)` for an empty
    /// group name among the overrides.
    public init(
        client: RedisClient,
        prefix: String = "bulwark",
        defaults: Limits,
        overrides: [String: Limits] = [:],
        failurePolicy: RedisFailurePolicy = .failClosed,
        timeout: Duration? = nil
    ) throws(BulwarkError) {
        if overrides.keys.contains("") { throw .invalidConfiguration(field: "overrides", rule: "group names must not be empty") }
        try failurePolicy.requireOpenOrClosed()
        self.failurePolicy = failurePolicy
        let events = EventChannel(defaultName: "redis:\(prefix):quota")
        self.events = events
        self.outage = RedisOutage(key: "\(prefix):quota", events: events)
        self.client = client
        self.keys = RedisKeys(prefix: prefix)
        self.defaults = defaults
        self.overrides = overrides
        self.timeout = timeout
    }

    /// The chain of a group's two quotas.
    private func chain(_ group: String) throws(BulwarkError) -> RedisRateLimitChain {
        guard !group.isEmpty else { throw .invalidArgument(field: "group", rule: "must not be empty") }
        let limits = overrides[group] ?? defaults
        let scope = RedisKeys.Scope.custom("group:\(group)")
        return try RedisRateLimitChain(client: client, links: [
            RedisLink("total", key: keys.key(scope: scope, limit: "total"), limit: limits.total),
            RedisLink("successes", key: keys.key(scope: scope, limit: "successes"), limit: limits.successes),
        ], failurePolicy: failurePolicy, timeout: timeout, events: events, outage: outage)
    }

    /// Takes one request of both quotas, or throws `BulwarkError/rateLimited(retryAfter:)` with
    /// the wait of the quota that refused (one script call).
    public func begin(group: String) async throws -> RedisQuotaCall {
        let chain = try chain(group)
        let decision = try await chain.tryAcquire(costs: [1, 1])
        guard decision.isAllowed else { throw BulwarkError.rateLimited(retryAfter: decision.retryAfter) }
        return RedisQuotaCall(group: group, decision: decision)
    }

    /// Reports how the call ended: a failure gives its success unit back (one script call); a
    /// success costs nothing more.
    public func finish(_ call: RedisQuotaCall, succeeded: Bool) async throws {
        guard !succeeded else { return }
        try await chain(call.group).refund(costs: [0, 1], of: call.decision)
    }

    /// Runs `operation` within the group's quotas; a thrown error is a failure.
    public func execute<Success: Sendable>(
        group: String,
        _ operation: @Sendable () async throws -> Success
    ) async throws -> Success {
        let call = try await begin(group: group)
        do {
            let result = try await operation()
            try await finish(call, succeeded: true)
            return result
        } catch {
            try? await finish(call, succeeded: false)
            throw error
        }
    }
}

/// A request admitted by a ``RedisSuccessQuota``, to be finished with its outcome.
public struct RedisQuotaCall: Sendable, Hashable {
    /// The group it counts against.
    public let group: String
    /// The chain decision that admitted it (its admissions are what a failure's refund names).
    public let decision: RedisChainDecision
}
