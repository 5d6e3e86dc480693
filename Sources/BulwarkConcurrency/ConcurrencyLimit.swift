public import BulwarkCore
public import BulwarkEngine

/// The arithmetic of a concurrency limit: at most `limit` units in flight, given back on release.
///
/// Time plays no part: capacity returns when a holder releases it (``refund(_:admittedAt:at:)``),
/// never by waiting. So a denied request's retry-after is `Int64.max` ("not by time alone"), and
/// a waiter in the engine's queue is admitted when a release makes room, in the queue's order.
/// Use it through ``Bulkhead``, which pairs every acquisition with its release.
///
///     var limit = try ConcurrencyLimit(configuration: .init(limit: 5), now: 0)
///     limit.tryConsume(2, at: 0).remaining          // 3
public struct ConcurrencyLimit: RateLimitAlgorithm, Hashable {
    /// The configuration of a concurrency limit.
    public struct Configuration: Sendable, Hashable {
        /// The most units in flight at once; also the largest weight of one holder.
        public var limit: Int

        /// Creates a configuration.
        public init(limit: Int) {
            self.limit = limit
        }
    }

    /// What is in flight.
    public struct State: Sendable, Hashable {
        /// The units held now.
        public var inFlight: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(inFlight: Int64, updatedAt: Int64) {
            self.inFlight = inFlight
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// What is in flight.
    public var state: State

    /// The most units in flight at once.
    public var limit: Int { configuration.limit }

    /// The latest clock reading the algorithm has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates a limit with nothing in flight.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `limit` is below 1 or above
    ///   `Int64.max / 8` (1,152,921,504,606,846,975).
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.limit(configuration.limit, field: "limit")
        self.configuration = configuration
        self.state = State(inFlight: 0, updatedAt: now)
    }

    /// Takes `cost` units if they fit under the limit.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        guard cost > 0, cost <= configuration.limit else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        state.updatedAt = timeOfStep(at: now)
        if state.inFlight &+ Int64(cost) <= Int64(configuration.limit) {
            state.inFlight &+= Int64(cost)
            return decision(allowed: true, retryAfter: 0)
        }
        return decision(allowed: false, retryAfter: .max)
    }

    /// Releases `amount` units (never below zero).
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        state.updatedAt = timeOfStep(at: now)
        state.inFlight = max(0, state.inFlight &- Int64(clamping: max(0, amount)))
    }

    /// Takes `amount` units even past the limit, up to twice the limit.
    public mutating func charge(_ amount: Int, at now: Int64) {
        state.updatedAt = timeOfStep(at: now)
        state.inFlight = min(2 * Int64(configuration.limit), state.inFlight &+ Int64(clamping: max(0, min(amount, 2 * configuration.limit))))
    }

    /// 0 if `amount` fits now, otherwise `Int64.max`: only a release makes room.
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        state.inFlight.addingSaturating(Int64(clamping: amount)) <= Int64(configuration.limit) ? 0 : .max
    }

    /// The figures without taking anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        decision(allowed: retryAfterNanoseconds == 0, retryAfter: retryAfterNanoseconds)
    }

    /// Nothing in flight.
    public func freshState(at now: Int64) -> State {
        State(inFlight: 0, updatedAt: now)
    }

    /// Whether nothing is in flight.
    public func isFresh(at now: Int64) -> Bool {
        state.inFlight == 0
    }

    /// `remaining` is the room under the limit; `resetAfter` is 0 when nothing is in flight and
    /// `Int64.max` (unknown: it depends on releases) otherwise.
    @inlinable
    func decision(allowed: Bool, retryAfter: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.limit,
            remaining: Int64(configuration.limit) &- state.inFlight,
            retryAfterNanoseconds: retryAfter,
            resetAfterNanoseconds: state.inFlight == 0 ? 0 : .max
        )
    }
}
