public import BulwarkCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whose clock a Redis limiter's scripts read.
public enum RedisTimeSource: Sendable, Hashable {
    /// Redis' own `TIME`: every node agrees whatever its clock. The default.
    case redis
    /// The limiter's `clock`, sent with each call: for tests on a `ManualClock`, and for
    /// deployments whose nodes share one clock. Keys then never expire (the script cannot tell how
    /// that clock relates to Redis' own), so use it with bounded key sets.
    case limiterClock

    /// The two clock arguments every script takes: empty for Redis' `TIME`, else `clock`'s
    /// reading as whole seconds and nanoseconds (the nanoseconds in `0 ..< 10⁹`).
    func arguments(_ clock: any NanosecondClock) -> [String] {
        guard self == .limiterClock else { return ["", ""] }
        let (second, nanoseconds) = clock.nowNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return nanoseconds < 0 ? [String(second - 1), String(nanoseconds + 1_000_000_000)] : [String(second), String(nanoseconds)]
    }

    /// Nanoseconds since the Unix epoch by this machine's real-time clock: what Redis' `TIME`
    /// reads, to within the skew between the two machines' clocks.
    static func unixNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec)
    }
}

/// Where a decision came from.
public enum RedisDecisionSource: Sendable, Hashable {
    /// Redis' script decided: the shared limit.
    case redis
    /// Redis could not answer; the failure policy admitted the call (``RedisFailurePolicy/failOpen``).
    case failedOpen
    /// Redis could not answer; the local fallback limiter decided.
    case fallback
}

/// The moment Redis admitted a cost, by Redis' clock: what a refund names.
public struct RedisAdmission: Sendable, Hashable {
    /// Redis' `TIME` second of the decision.
    public let second: Int64
    /// Nanoseconds after ``second`` (beyond 10^9 when the limiter's clock was ahead).
    public let nanoseconds: Int64
}

/// A decision from Redis: the figures, where they came from, and the admission a refund names.
public struct RedisDecision: Sendable, Hashable {
    /// The figures, as an in-memory limiter gives them.
    public let decision: RateLimitDecision
    /// Who decided.
    public let source: RedisDecisionSource
    /// When Redis admitted the cost (`nil` unless Redis decided).
    public let admission: RedisAdmission?

    /// Whether the call was admitted.
    public var isAllowed: Bool { decision.isAllowed }
}

/// A rate limiter whose state lives in Redis, shared by every node that names the same key: one
/// script call per decision, with Redis' own clock, so nodes whose clocks disagree still agree.
///
///     let redis = try RedisClient(configuration: RedisConfiguration(endpoints: [RedisEndpoint(host: "redis")]))
///     let perUser = try RedisRateLimiter(
///         client: redis, key: RedisKeys(prefix: "api").key(scope: .user("42"), limit: "rpm"),
///         limit: .slidingWindowLog(limit: 60, window: .seconds(60)), failurePolicy: .failClosed
///     )
///     let answer = try await perUser.tryAcquire()
///
/// The decision's figures are the in-memory algorithm's, exactly (the vector files run against
/// both). When Redis cannot answer by the deadline the ``RedisFailurePolicy`` decides; the switch
/// and the recovery are events (`ResilienceEvent/Kind/distributedStateUnavailable(key:policy:reason:)`
/// and `ResilienceEvent/Kind/distributedStateRecovered(key:)`).
public final class RedisRateLimiter: Sendable {
    /// The Redis key holding the state.
    public let key: String
    /// The algorithm and its configuration.
    public let limit: RedisLimit
    /// What happens when Redis cannot answer.
    public let failurePolicy: RedisFailurePolicy
    /// Where the limiter's events go.
    public let events: EventChannel
    /// The script each decision runs, for tools outside Bulwark (`redis-cli`, `redis-benchmark`):
    /// `EVALSHA <sha1> 1 <key> "" "" acquire <cost> "" ""` followed by ``RedisLimit/arguments``
    /// decides as ``tryAcquire(cost:)`` does (the two empty clock arguments read Redis' `TIME`).
    public let script: RedisScript
    private let client: RedisClient
    private let timeout: Duration?
    /// The clock waiting callers sleep on (and, with ``RedisTimeSource/limiterClock``, the scripts read).
    let clock: any NanosecondClock
    private let timeSource: RedisTimeSource
    /// The limiter ``RedisFailurePolicy/fallback(_:)`` or ``RedisFailurePolicy/localShare(_:)`` decides with.
    private let local: (any RateLimiter)?
    private let outage: RedisOutage

    /// Creates a limiter on `key`.
    ///
    /// - Parameters:
    ///   - client: The Redis client (a server or a cluster).
    ///   - key: The key holding the state; see ``RedisKeys`` for the documented scheme.
    ///   - limit: The algorithm and its configuration.
    ///   - failurePolicy: What happens when Redis cannot answer in time.
    ///   - timeout: How long a decision may wait for Redis; the client's command timeout if `nil`.
    ///   - clock: The clock waiting callers sleep on and read their deadlines from.
    ///   - timeSource: Whose clock the scripts read: Redis' (the default) or `clock`.
    public init(
        client: RedisClient,
        key: String,
        limit: RedisLimit,
        failurePolicy: RedisFailurePolicy = .failClosed,
        timeout: Duration? = nil,
        clock: any NanosecondClock = ContinuousClock(),
        timeSource: RedisTimeSource = .redis
    ) throws(BulwarkError) {
        guard !key.isEmpty else { throw .invalidConfiguration(field: "key", rule: "must not be empty") }
        if let timeout, timeout <= .zero {
            throw .invalidConfiguration(field: "timeout", rule: "must be positive, got \(timeout)")
        }
        self.client = client
        self.key = key
        self.limit = limit
        self.failurePolicy = failurePolicy
        self.timeout = timeout
        self.clock = clock
        self.timeSource = timeSource
        switch failurePolicy {
        case .fallback(let limiter): local = limiter
        case .localShare(let share): local = try limit.localLimiter(share: share, clock: clock, timeSource: timeSource)
        case .failOpen, .failClosed: local = nil
        }
        self.script = RedisScripts.single(limit.module)
        let events = EventChannel(defaultName: "redis:\(key)")
        self.events = events
        self.outage = RedisOutage(key: key, events: events)
    }

    /// Takes `cost` if the shared limit has it now; never waits for capacity (only for Redis).
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a cost below 0 or above the
    ///   limit; `BulwarkError/dependencyFailed(dependency:reason:)` when Redis cannot answer and
    ///   the policy is ``RedisFailurePolicy/failClosed``.
    public func tryAcquire(cost: Int = 1) async throws -> RedisDecision {
        try check(cost)
        return try await decide(op: "acquire", cost: cost, admission: nil)
    }

    /// Takes `cost`, waiting (by sleeping until Redis says the cost fits, then asking again) until
    /// it is admitted or the deadline passes.
    ///
    /// Waiters on different nodes are not queued in one order: each asks again when Redis says its
    /// cost would fit, so under contention a waiter may be overtaken (Redis keeps no queue).
    ///
    /// - Throws: `BulwarkError/waitTimedOut` when the deadline passes first (or the predicted
    ///   wait ends after it, with `rejectEarly`), `CancellationError` when cancelled, and as
    ///   ``tryAcquire(cost:)``.
    @discardableResult
    public func acquire(cost: Int = 1, options: WaitOptions = WaitOptions()) async throws -> RedisDecision {
        try check(cost)
        let start = clock.nowNanoseconds
        let deadline = options.deadlineNanoseconds(at: start)
        while true {
            try Task.checkCancellation()
            let answer = try await tryAcquire(cost: cost)
            if answer.isAllowed { return answer }
            let wake = clock.nowNanoseconds.addingSaturating(max(1, answer.decision.retryAfterNanoseconds))
            if let deadline, wake > deadline {
                if options.rejectEarly { throw BulwarkError.rateLimited(retryAfter: answer.decision.retryAfter) }
                try await clock.sleep(untilNanoseconds: deadline)
                throw BulwarkError.waitTimedOut
            }
            try await clock.sleep(untilNanoseconds: wake)
        }
    }

    /// Gives back `cost` of what Redis admitted at `admission`, as if it had taken that much less.
    public func refund(cost: Int, admission: RedisAdmission) async throws {
        try check(cost)
        _ = try await decide(op: "refund", cost: cost, admission: admission)
    }

    /// Takes `cost` whether or not it is available (debt later requests pay first).
    public func charge(cost: Int) async throws {
        try check(cost)
        _ = try await decide(op: "charge", cost: cost, admission: nil)
    }

    private func check(_ cost: Int) throws(BulwarkError) {
        guard cost >= 0, cost <= limit.limit else {
            throw .invalidArgument(field: "cost", rule: "must be in 0...\(limit.limit), got \(cost)")
        }
    }

    /// One script call, and the failure policy when it gives no answer.
    private func decide(op: String, cost: Int, admission: RedisAdmission?) async throws -> RedisDecision {
        let arguments =
            timeSource.arguments(clock) + [op, String(cost), admission.map { String($0.second) } ?? "", admission.map { String($0.nanoseconds) } ?? ""]
            + limit.arguments
        let error: RedisError
        switch try await outage.attempt(failurePolicy, { () async throws(RedisError) in try await call(arguments) }) {
        case .success(let decision): return decision
        case .failure(let failure): error = failure
        }
        switch failurePolicy {
        case .failOpen:
            let open = RateLimitDecision(
                isAllowed: true, limit: limit.limit, remaining: 0, retryAfterNanoseconds: 0, resetAfterNanoseconds: 0
            )
            return RedisDecision(decision: open, source: .failedOpen, admission: nil)
        case .failClosed:
            throw failurePolicy.refusal(error)
        case .fallback, .localShare:
            guard let local else { throw failurePolicy.refusal(error) }
            // Refunds and charges of a Redis admission have nothing local to apply to.
            let decision = op == "acquire" ? try local.tryAcquire(cost: cost) : .unknown
            return RedisDecision(decision: decision, source: .fallback, admission: nil)
        }
    }

    private func call(_ arguments: [String]) async throws(RedisError) -> RedisDecision {
        let reply = try await client.evaluate(script, keys: [key], arguments: arguments, timeout: timeout)
        return try RedisScripts.decision(reply, limit: limit.limit)
    }
}

extension RedisRateLimiter: RateLimitingPolicy {
    /// Waits for the context's cost (until the context's deadline), then runs `operation`.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await acquire(cost: context.cost, options: context.waitOptions)
        return try await operation(context)
    }
}
