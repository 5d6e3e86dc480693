public import BulwarkCore

/// One limit of a ``RedisRateLimitChain`` or a ``RedisTokenBudget``: its name, its key and its algorithm.
public struct RedisLink: Sendable, Hashable {
    /// The name decisions report (`requests`, `input tokens`…).
    public let name: String
    /// The key holding its state.
    public let key: String
    /// Its algorithm and configuration.
    public let limit: RedisLimit

    /// Creates a link.
    public init(_ name: String, key: String, limit: RedisLimit) {
        self.name = name
        self.key = key
        self.limit = limit
    }
}

/// A chain's answer: allowed by every link, or the link that refused and the longest wait.
public struct RedisChainDecision: Sendable, Hashable {
    /// Whether every link admitted its cost (and all took it).
    public let isAllowed: Bool
    /// The first link with the longest wait, when refused.
    public let deniedBy: String?
    /// How long until the same costs would all fit (0 when allowed).
    public let retryAfter: Duration
    /// Each link's remaining capacity after the step, in the links' order.
    public let remaining: [Int]
    /// When each link admitted its cost, by Redis' clock (what a refund names); empty when Redis
    /// did not decide.
    public let admissions: [RedisAdmission]
    /// Who decided: Redis, or the failure policy (`.failedOpen`) when Redis could not answer.
    public let source: RedisDecisionSource

    /// The answer of `.failOpen` when Redis could not answer: allowed, nothing known remaining.
    static func failedOpen(_ links: [RedisLink]) -> RedisChainDecision {
        RedisChainDecision(
            isAllowed: true, deniedBy: nil, retryAfter: .zero, remaining: links.map { _ in 0 }, admissions: [], source: .failedOpen
        )
    }
}

/// Several limits shared through Redis, taken all-or-nothing in one script call: the requests per
/// minute *and* the tokens per minute of a model, for one user.
///
///     let keys = RedisKeys(prefix: "api")
///     let chain = try RedisRateLimitChain(client: redis, links: [
///         RedisLink("requests", key: keys.key(scope: .user("42"), limit: "rpm"), limit: .tokenBucket(capacity: 60, every: .seconds(60))),
///         RedisLink("tokens", key: keys.key(scope: .user("42"), limit: "tpm"), limit: .slidingWindowCounter(limit: 90_000, window: .seconds(60))),
///     ])
///     let answer = try await chain.tryAcquire(costs: [1, 1_200])
///
/// The semantics are the in-memory `RateLimitChain`'s (`Tests/Vectors/chain.json` runs against
/// both): links tried in order, earlier links given back when a later one refuses, the longest
/// wait reported. In a cluster every key must share one hash tag (one slot): the key scheme does
/// that for the limits of one subject; a chain across subjects (global and per-user) cannot be one
/// atomic script on a cluster, and is refused at creation.
public final class RedisRateLimitChain: Sendable {
    /// The links, in order.
    public let links: [RedisLink]
    /// What the chain does when Redis cannot answer: `.failOpen` or `.failClosed`.
    public let failurePolicy: RedisFailurePolicy
    /// Where the chain reports an outage and its end (named after its first key by default).
    public let events: EventChannel
    let client: RedisClient
    let timeout: Duration?
    private let outage: RedisOutage
    private static let script = RedisScripts.composite("chain")

    /// Creates a chain.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for no links, a repeated key,
    ///   (on a cluster) keys on different slots, or a failure policy other than `.failOpen` and
    ///   `.failClosed`.
    public convenience init(
        client: RedisClient, links: [RedisLink], failurePolicy: RedisFailurePolicy = .failClosed, timeout: Duration? = nil
    ) throws(BulwarkError) {
        let events = EventChannel(defaultName: "redis:\(links.first?.key ?? "chain")")
        try self.init(
            client: client, links: links, failurePolicy: failurePolicy, timeout: timeout, events: events,
            outage: RedisOutage(key: links.first?.key ?? "chain", events: events)
        )
    }

    /// A chain that reports on the events and outage of the type that made it (a quota).
    init(
        client: RedisClient, links: [RedisLink], failurePolicy: RedisFailurePolicy, timeout: Duration?, events: EventChannel,
        outage: RedisOutage
    ) throws(BulwarkError) {
        try Self.validate(links, client: client)
        try failurePolicy.requireOpenOrClosed()
        self.client = client
        self.links = links
        self.failurePolicy = failurePolicy
        self.timeout = timeout
        self.events = events
        self.outage = outage
    }

    /// Links (and the keys a script adds to theirs) one script can take: some, each its own key,
    /// and on a cluster all on one slot.
    static func validate(_ links: [RedisLink], extraKeys: [String] = [], client: RedisClient, field: String = "links")
        throws(BulwarkError)
    {
        guard !links.isEmpty else { throw .invalidConfiguration(field: field, rule: "must not be empty") }
        let keys = links.map(\.key) + extraKeys
        guard Set(keys).count == keys.count else {
            throw .invalidConfiguration(field: field, rule: "each needs its own key")
        }
        if client.configuration.cluster, Set(keys.map(RedisKeySlot.of)).count > 1 {
            throw .invalidConfiguration(field: field, rule: "on a cluster, every key must share one hash tag (one slot)")
        }
    }

    /// Takes every link's cost if all have it now; never waits.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a wrong number of costs or a
    ///   cost outside `0...limit`; when Redis cannot answer, what ``failurePolicy`` says
    ///   (`.failClosed`: `BulwarkError/dependencyFailed(dependency:reason:)`; `.failOpen` admits,
    ///   with `source == .failedOpen`).
    public func tryAcquire(costs: [Int]) async throws -> RedisChainDecision {
        try check(costs)
        guard let values = try await outage.run(failurePolicy, { () async throws(RedisError) in try await call("acquire", costs, tail: []) })
        else { return .failedOpen(links) }
        return Self.decision(values, links: links)
    }

    /// Gives back `costs` of what `decision` admitted, link by link (a cost of 0 leaves a link
    /// alone). A decision Redis did not make has nothing to give back.
    public func refund(costs: [Int], of decision: RedisChainDecision) async throws {
        try check(costs)
        guard decision.source == .redis else { return }
        let tail = decision.admissions.flatMap { [String($0.second), String($0.nanoseconds)] }
        _ = try await outage.run(failurePolicy, { () async throws(RedisError) in try await call("refund", costs, tail: tail) })
    }

    /// Takes `costs` whether or not they are available (debt later requests pay first); skipped
    /// under `.failOpen` when Redis cannot answer.
    public func charge(costs: [Int]) async throws {
        try check(costs)
        _ = try await outage.run(failurePolicy, { () async throws(RedisError) in try await call("charge", costs, tail: []) })
    }

    func check(_ costs: [Int], field: String = "costs") throws(BulwarkError) {
        guard costs.count == links.count else {
            throw .invalidArgument(field: field, rule: "needs one per link (\(links.count)), got \(costs.count)")
        }
        for (cost, link) in zip(costs, links) where !(0...link.limit.limit).contains(cost) {
            throw .invalidArgument(field: field, rule: "\(link.name): must be in 0...\(link.limit.limit), got \(cost)")
        }
    }

    /// ARGV `[clock, clock, op, n, links…, costs…] + tail` on the chain script.
    private func call(_ op: String, _ costs: [Int], tail: [String]) async throws(RedisError) -> [Int64] {
        try await Self.run(Self.script, client: client, op: op, links: links, extraKeys: [], numbers: costs, tail: tail, timeout: timeout)
    }

    static func run(
        _ script: RedisScript,
        client: RedisClient,
        op: String,
        links: [RedisLink],
        extraKeys: [String],
        numbers: [Int],
        tail: [String],
        timeout: Duration?
    ) async throws(RedisError) -> [Int64] {
        var arguments = ["", "", op, String(links.count)]
        for link in links {
            arguments += [link.limit.module, String(link.limit.arguments.count)] + link.limit.arguments
        }
        arguments += numbers.map(String.init) + tail
        let reply = try await client.evaluate(script, keys: links.map(\.key) + extraKeys, arguments: arguments, timeout: timeout)
        guard let values = reply.array?.compactMap(\.integer), values.count == 4 + 3 * links.count else {
            throw .protocolViolation("a chain reply of an unexpected shape: \(reply)")
        }
        return values
    }

    /// Reads `{allowed, deniedBy, retryAfter, second, then per link remaining, resetAfter, T}`.
    static func decision(_ values: [Int64], links: [RedisLink]) -> RedisChainDecision {
        let count = links.count
        return RedisChainDecision(
            isAllowed: values[0] == 1,
            deniedBy: values[1] > 0 ? links[Int(values[1]) - 1].name : nil,
            retryAfter: values[2] < 0 ? .nanoseconds(Int64.max) : .nanoseconds(values[2]),
            remaining: (0..<count).map { Int(values[4 + 3 * $0]) },
            admissions: (0..<count).map { RedisAdmission(second: values[3], nanoseconds: values[6 + 3 * $0]) },
            source: .redis
        )
    }
}
