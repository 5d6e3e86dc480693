public import BulwarkCore

/// A budget of several dimensions (requests, input tokens, output tokens) shared through Redis,
/// reserved before a call with an estimate and settled after it with the real figures: one script
/// call each. The in-memory `TokenBudget`'s semantics (`Tests/Vectors/budget.json` runs against both).
///
///     let budget = try RedisTokenBudget(client: redis, dimensions: [...], reservations: "api:{user:42}:reservations",
///                                       reservationTimeout: .seconds(120))
///     let reservation = try await budget.reserve(estimate: [1, 3_000, 2_000])
///     // … the call …
///     try await budget.settle(reservation, actual: [1, 2_950, 812])
///
/// A reservation is held in Redis (the `reservations` key), so a node that dies between the two
/// calls leaves it to expire after `reservationTimeout`, settled at its estimate: every dimension
/// stays consistent. In a cluster every key, `reservations` included, must share one hash tag.
public final class RedisTokenBudget: Sendable {
    /// The dimensions, in order.
    public let dimensions: [RedisLink]
    /// The key holding the live reservations.
    public let reservations: String
    /// How long a reservation waits to be settled before it stands at its estimate.
    public let reservationTimeout: Duration
    /// What the budget does when Redis cannot answer: `.failOpen` or `.failClosed`.
    public let failurePolicy: RedisFailurePolicy
    /// Where the budget reports an outage and its end.
    public let events: EventChannel
    private let client: RedisClient
    private let timeoutNanoseconds: Int64
    private let timeout: Duration?
    private let outage: RedisOutage
    private static let script = RedisScripts.composite("budget")
    /// The largest figure ``settle(_:actual:)`` takes: 2^53 − 1, the largest integer a Lua number
    /// (a double) holds exactly. No limit is above it, so every overrun up to it is charged (and
    /// capped) as in memory.
    public static let maximumActual = (1 << 53) - 1

    /// Creates a budget.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for no dimensions, a repeated
    ///   key, keys on several cluster slots, or a timeout not positive or above 2^51 ns.
    public init(
        client: RedisClient,
        dimensions: [RedisLink],
        reservations: String,
        reservationTimeout: Duration,
        failurePolicy: RedisFailurePolicy = .failClosed,
        timeout: Duration? = nil
    ) throws(BulwarkError) {
        try RedisRateLimitChain.validate(dimensions, extraKeys: [reservations], client: client, field: "dimensions")
        try failurePolicy.requireOpenOrClosed()
        self.failurePolicy = failurePolicy
        let events = EventChannel(defaultName: "redis:\(reservations)")
        self.events = events
        self.outage = RedisOutage(key: reservations, events: events)
        let nanoseconds = try Validation.positiveNanoseconds(reservationTimeout, field: "reservationTimeout")
        guard nanoseconds <= RedisLimit.bound else {
            throw .invalidConfiguration(field: "reservationTimeout", rule: "must be at most \(RedisLimit.bound) ns for exact Lua arithmetic")
        }
        self.client = client
        self.dimensions = dimensions
        self.reservations = reservations
        self.reservationTimeout = reservationTimeout
        self.timeoutNanoseconds = nanoseconds
        self.timeout = timeout
    }

    /// Reserves `estimate` in every dimension if all have it now; never waits.
    ///
    /// - Returns: The reservation: granted (``RedisReservation/isGranted``), or refused with the
    ///   dimension and the wait in its decision.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a wrong number of figures or an
    ///   estimate above its dimension's limit; when Redis cannot answer, what ``failurePolicy`` says.
    public func reserve(estimate: [Int]) async throws -> RedisReservation {
        try check(estimate, field: "estimate")
        let id = RedisKeys.uniqueID()
        let values = try await outage.run(failurePolicy, { () async throws(RedisError) in
            try await RedisRateLimitChain.run(
                Self.script, client: client, op: "reserve", links: dimensions, extraKeys: [reservations], numbers: estimate,
                tail: [id, String(timeoutNanoseconds)], timeout: timeout
            )
        })
        guard let values else { return RedisReservation(id: id, estimate: estimate, decision: .failedOpen(dimensions)) }
        return RedisReservation(id: id, estimate: estimate, decision: RedisRateLimitChain.decision(values, links: dimensions))
    }

    /// Settles a granted reservation with the real figures: surpluses go back, overruns are
    /// charged. Returns `false` when it had expired (its estimate stands; nothing changes).
    ///
    /// A figure may exceed its dimension's limit (the overrun is charged as debt, capped as in
    /// memory), but not ``maximumActual``, the largest integer the script reads exactly.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a refused reservation, for
    ///   `actual` without one figure per dimension (field `actual`), or for a figure below 0 or
    ///   above ``maximumActual`` (field `actual[<dimension>]`), as the in-memory `TokenBudget`
    ///   names them; when Redis cannot answer, what ``failurePolicy`` says.
    @discardableResult
    public func settle(_ reservation: RedisReservation, actual: [Int]) async throws -> Bool {
        guard reservation.decision.isAllowed else {
            throw BulwarkError.invalidArgument(field: "reservation", rule: "was refused: nothing to settle")
        }
        guard actual.count == dimensions.count else {
            throw BulwarkError.invalidArgument(
                field: "actual", rule: "must hold one figure per dimension, \(dimensions.count) (got \(actual.count))"
            )
        }
        for (figure, dimension) in zip(actual, dimensions) {
            guard figure >= 0 else {
                throw BulwarkError.invalidArgument(field: "actual[\(dimension.name)]", rule: "must be at least 0 (got \(figure))")
            }
            guard figure <= Self.maximumActual else {
                throw BulwarkError.invalidArgument(
                    field: "actual[\(dimension.name)]",
                    rule: "must be at most \(Self.maximumActual) (2^53 − 1) for exact Lua arithmetic (got \(figure))"
                )
            }
        }
        // A reservation Redis did not grant (`.failOpen`) holds nothing there to settle.
        guard reservation.decision.source == .redis else { return true }
        let values = try await outage.run(failurePolicy, { () async throws(RedisError) in
            try await RedisRateLimitChain.run(
                Self.script, client: client, op: "settle", links: dimensions, extraKeys: [reservations], numbers: actual,
                tail: [reservation.id], timeout: timeout
            )
        })
        guard let values else { return true }
        return values[0] == 0
    }

    private func check(_ figures: [Int], field: String) throws(BulwarkError) {
        guard figures.count == dimensions.count else {
            throw .invalidArgument(field: field, rule: "needs one per dimension (\(dimensions.count)), got \(figures.count)")
        }
        for (figure, dimension) in zip(figures, dimensions) where !(0...dimension.limit.limit).contains(figure) {
            throw .invalidArgument(field: field, rule: "\(dimension.name): must be in 0...\(dimension.limit.limit), got \(figure)")
        }
    }
}

/// A reservation of a ``RedisTokenBudget``: granted or not, and what to settle.
public struct RedisReservation: Sendable, Hashable {
    /// Its id among the budget's reservations.
    public let id: String
    /// The estimate it reserved.
    public let estimate: [Int]
    /// The chain decision: allowed, or refused with the dimension and the wait.
    public let decision: RedisChainDecision

    /// Whether it was granted.
    public var isGranted: Bool { decision.isAllowed }
}
