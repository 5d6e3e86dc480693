public import BulwarkCore

/// A concurrency limit shared through Redis: at most `limit` units in flight across every node,
/// held as leases that expire, so a node that dies holding units gives them back after `leaseTTL`.
///
///     let slots = try RedisConcurrencyLimiter(client: redis, key: "api:{model:gpt}:inflight", limit: 20,
///                                             leaseTTL: .seconds(30))
///     let lease = try await slots.acquire(options: WaitOptions(deadline: .after(.seconds(5))))
///     defer { Task { try? await lease.release() } }
///
/// A call that outlives `leaseTTL` renews its lease (``RedisLease/renew()``). Each acquire and each
/// release is one script call. Redis keeps no queue of waiters: ``acquire(cost:options:)`` asks again
/// after a short, doubling pause (1 ms up to 100 ms) until the deadline.
public final class RedisConcurrencyLimiter: Sendable {
    /// The Redis key holding the leases.
    public let key: String
    /// The most units in flight at once.
    public let limit: Int
    /// How long a lease lives unless renewed or released.
    public let leaseTTL: Duration
    /// What the limiter does when Redis cannot answer: `.failOpen` (a lease Redis does not
    /// hold) or `.failClosed` (the default).
    public let failurePolicy: RedisFailurePolicy
    /// Where the limiter reports an outage and its end.
    public let events: EventChannel
    private let outage: RedisOutage
    private let client: RedisClient
    private let ttlNanoseconds: Int64
    private let timeout: Duration?
    private let clock: any NanosecondClock
    private let timeSource: RedisTimeSource
    private static let script = RedisScripts.single("concurrency")

    /// Creates the limiter.
    ///
    /// `timeSource` says whose clock dates the leases: Redis' `TIME` (the default), or `clock`'s
    /// (``RedisTimeSource/limiterClock``: for tests on a `ManualClock`; the key then never expires).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for an empty key, a limit
    ///   below 1 or above 2^51, a lease TTL not positive or above 2^51 ns, a failure policy other
    ///   than `.failOpen` and `.failClosed`.
    public init(
        client: RedisClient,
        key: String,
        limit: Int,
        leaseTTL: Duration,
        failurePolicy: RedisFailurePolicy = .failClosed,
        timeout: Duration? = nil,
        clock: any NanosecondClock = ContinuousClock(),
        timeSource: RedisTimeSource = .redis
    ) throws(BulwarkError) {
        guard !key.isEmpty else { throw .invalidConfiguration(field: "key", rule: "must not be empty") }
        let limit = try Validation.limit(limit, field: "limit")
        guard Int64(limit) <= RedisLimit.bound else {
            throw .invalidConfiguration(field: "limit", rule: "must be at most \(RedisLimit.bound) for exact Lua arithmetic")
        }
        let ttl = try Validation.positiveNanoseconds(leaseTTL, field: "leaseTTL")
        guard ttl <= RedisLimit.bound else {
            throw .invalidConfiguration(field: "leaseTTL", rule: "must be at most \(RedisLimit.bound) ns for exact Lua arithmetic")
        }
        self.client = client
        self.key = key
        self.limit = limit
        self.leaseTTL = leaseTTL
        try failurePolicy.requireOpenOrClosed()
        self.failurePolicy = failurePolicy
        let events = EventChannel(defaultName: "redis:\(key)")
        self.events = events
        self.outage = RedisOutage(key: key, events: events)
        self.ttlNanoseconds = ttl
        self.timeout = timeout
        self.clock = clock
        self.timeSource = timeSource
    }

    /// Creates the limiter with the former failure flag: `failOpen` is `failurePolicy: .failOpen`.
    @available(*, deprecated, message: "use failurePolicy: .failOpen or .failClosed")
    public convenience init(
        client: RedisClient, key: String, limit: Int, leaseTTL: Duration, failOpen: Bool, timeout: Duration? = nil,
        clock: any NanosecondClock = ContinuousClock(), timeSource: RedisTimeSource = .redis
    ) throws(BulwarkError) {
        try self.init(
            client: client, key: key, limit: limit, leaseTTL: leaseTTL, failurePolicy: failOpen ? .failOpen : .failClosed,
            timeout: timeout, clock: clock, timeSource: timeSource
        )
    }

    /// Whether calls are admitted when Redis cannot answer (the former flag).
    @available(*, deprecated, message: "read failurePolicy")
    public var failOpen: Bool {
        if case .failOpen = failurePolicy { true } else { false }
    }

    /// Takes `cost` units now if they are free: a lease, or `nil` when the limit is full.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a cost outside `1...limit`;
    ///   `BulwarkError/dependencyFailed(dependency:reason:)` when Redis cannot answer (unless
    ///   ``failurePolicy`` is `.failOpen`, which returns a lease Redis does not hold).
    public func tryAcquire(cost: Int = 1) async throws -> RedisLease? {
        guard (1...limit).contains(cost) else {
            throw BulwarkError.invalidArgument(field: "cost", rule: "must be in 1...\(limit), got \(cost)")
        }
        let id = RedisKeys.uniqueID()  // unique per holder, as the script requires
        let reply = try await outage.run(failurePolicy, { () async throws(RedisError) in
            try await run("acquire", cost: String(cost), lease: id)
        })
        guard let reply else { return RedisLease(limiter: self, id: id, cost: cost, isHeldInRedis: false) }
        return reply.first == 1 ? RedisLease(limiter: self, id: id, cost: cost, isHeldInRedis: true) : nil
    }

    /// Takes `cost` units, asking again after short pauses until they are free or the deadline
    /// passes (`BulwarkError/waitTimedOut`); cancellable.
    public func acquire(cost: Int = 1, options: WaitOptions = WaitOptions()) async throws -> RedisLease {
        let deadline = options.deadlineNanoseconds(at: clock.nowNanoseconds)
        var pause: Int64 = 1_000_000
        while true {
            try Task.checkCancellation()
            if let lease = try await tryAcquire(cost: cost) { return lease }
            let wake = clock.nowNanoseconds.addingSaturating(pause)
            if let deadline, wake > deadline {
                try await clock.sleep(untilNanoseconds: deadline)
                throw BulwarkError.waitTimedOut
            }
            try await clock.sleep(untilNanoseconds: wake)
            pause = min(pause * 2, 100_000_000)
        }
    }

    /// Gives back `cost` units of lease `id` (all of it when `nil`); the units released (0 when
    /// Redis cannot answer under `.failOpen`: the lease then expires with its TTL).
    func release(id: String, cost: Int?) async throws -> Int {
        let reply = try await outage.run(failurePolicy, { () async throws(RedisError) in
            try await run("release", cost: cost.map(String.init) ?? "", lease: id)
        })
        guard let reply else { return 0 }
        return reply.count > 2 ? Int(reply[2]) : 0
    }

    /// Extends lease `id` to `leaseTTL` from now; whether it was still held (under `.failOpen`,
    /// `true` when Redis cannot answer: the holder goes on).
    func renew(id: String) async throws -> Bool {
        let reply = try await outage.run(failurePolicy, { () async throws(RedisError) in try await run("renew", cost: "0", lease: id) })
        guard let reply else { return true }
        return reply.first == 1
    }

    private func run(_ op: String, cost: String, lease: String) async throws(RedisError) -> [Int64] {
        let arguments = timeSource.arguments(clock) + [op, cost, "", "", String(limit), String(ttlNanoseconds), lease]
        let reply = try await client.evaluate(Self.script, keys: [key], arguments: arguments, timeout: timeout)
        guard let values = reply.array?.compactMap(\.integer), values.count == 6 else {
            throw .protocolViolation("a script reply of an unexpected shape: \(reply)")
        }
        return values
    }
}

/// Units held in a ``RedisConcurrencyLimiter``: give them back with ``release()``.
public struct RedisLease: Sendable {
    let limiter: RedisConcurrencyLimiter
    /// The lease's id in Redis.
    public let id: String
    /// The units it holds.
    public let cost: Int
    /// `false` for a lease granted by ``RedisConcurrencyLimiter/failOpen`` while Redis could not
    /// answer: releasing it does nothing.
    public let isHeldInRedis: Bool

    /// Gives the units back.
    public func release() async throws {
        guard isHeldInRedis else { return }
        _ = try await limiter.release(id: id, cost: nil)
    }

    /// Keeps the lease for another lease TTL; `false` when it had already expired (its units may
    /// have gone to others).
    @discardableResult
    public func renew() async throws -> Bool {
        guard isHeldInRedis else { return true }
        return try await limiter.renew(id: id)
    }
}

extension RedisConcurrencyLimiter: ResiliencePolicy {
    /// Holds the context's cost in units while `operation` runs (until the context's deadline to
    /// get them), and releases them however it ends.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        let lease = try await acquire(cost: max(1, context.cost), options: context.waitOptions)
        do {
            let result = try await operation(context)
            try? await lease.release()
            return result
        } catch {
            try? await lease.release()
            throw error
        }
    }
}
