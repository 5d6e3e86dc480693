public import BulwarkCore
public import BulwarkEngine

/// The engine's algorithm for an adaptive bulkhead: a concurrency limit whose limit is an
/// ``AdaptiveLimit``'s, moved by each completed call's sample.
///
/// Like the fixed concurrency limit, time plays no part: a denied call's retry-after is
/// `Int64.max` and a waiter is admitted when a release or a rising limit makes room. When the
/// limit falls below what is in flight, nobody is admitted until enough calls end. A cost is
/// checked against the largest limit the estimator can reach (the engine's ``limit``); one above
/// the current limit waits until the limit rises to it.
///
/// Only ``AdaptiveBulkhead`` feeds it samples (through ``release(_:sample:at:)``): elsewhere it
/// gets refunds only and its limit never moves. It is never fresh, since dropping it would lose
/// what it learned.
public struct AdaptiveConcurrency<Estimator: AdaptiveLimit>: RateLimitAlgorithm {
    /// What is in flight and what the estimator has learned.
    public struct State: Sendable {
        /// The units held now.
        public var inFlight: Int64
        /// The latest clock reading taken into account.
        public var updatedAt: Int64
        /// The limit's arithmetic.
        public var estimator: Estimator

        /// Creates a state.
        @inlinable
        public init(inFlight: Int64, updatedAt: Int64, estimator: Estimator) {
            self.inFlight = inFlight
            self.updatedAt = updatedAt
            self.estimator = estimator
        }
    }

    /// What is in flight and what the estimator has learned.
    public var state: State

    /// Creates the algorithm around an estimator, with nothing in flight.
    public init(configuration: Estimator, now: Int64) {
        state = State(inFlight: 0, updatedAt: now, estimator: configuration)
    }

    /// The largest limit the estimator can reach.
    public var limit: Int { state.estimator.maximumLimit }

    /// The limit now.
    public var currentLimit: Int { state.estimator.limit }

    /// The latest clock reading taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Takes `cost` units if they fit under the current limit.
    @inlinable
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        state.updatedAt = timeOfStep(at: now)
        guard cost > 0 else { return decision(allowed: true) }
        if state.inFlight &+ Int64(cost) <= Int64(state.estimator.limit) {
            state.inFlight &+= Int64(cost)
            return decision(allowed: true)
        }
        return decision(allowed: false)
    }

    /// Releases `amount` units without a sample (a call the estimator ignores).
    @inlinable
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        state.updatedAt = timeOfStep(at: now)
        state.inFlight = max(0, state.inFlight &- Int64(clamping: max(0, amount)))
    }

    /// Releases `amount` units and feeds the estimator the call's sample; returns the limit
    /// before and after.
    @inlinable
    public mutating func release(_ amount: Int, sample: LimitSample?, at now: Int64) -> (before: Int, after: Int) {
        refund(amount, admittedAt: sample?.startedAt ?? now, at: now)
        let before = state.estimator.limit
        if let sample { state.estimator.update(sample) }
        return (before, state.estimator.limit)
    }

    /// Takes `amount` units even past the limit, up to twice the largest limit.
    public mutating func charge(_ amount: Int, at now: Int64) {
        state.updatedAt = timeOfStep(at: now)
        state.inFlight = min(2 * Int64(limit), state.inFlight &+ Int64(clamping: max(0, min(amount, 2 * limit))))
    }

    /// 0 if `amount` fits under the current limit now, otherwise `Int64.max`.
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        state.inFlight.addingSaturating(Int64(clamping: amount)) <= Int64(state.estimator.limit) ? 0 : .max
    }

    /// The figures without taking anything.
    @inlinable
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: retryAfterNanoseconds == 0,
            limit: state.estimator.limit,
            remaining: Int64(state.estimator.limit) &- state.inFlight,
            retryAfterNanoseconds: retryAfterNanoseconds,
            resetAfterNanoseconds: state.inFlight == 0 ? 0 : .max
        )
    }

    /// Nothing in flight, and the estimator as it is (what it learned is kept).
    public func freshState(at now: Int64) -> State {
        State(inFlight: 0, updatedAt: now, estimator: state.estimator)
    }

    /// Never: dropping the state would lose what the estimator learned.
    public func isFresh(at now: Int64) -> Bool {
        false
    }

    /// ``limit`` is the current limit; `remaining` the room under it (negative after it fell).
    @inlinable
    func decision(allowed: Bool) -> RateLimitDecision {
        snapshot(at: state.updatedAt, retryAfterNanoseconds: allowed ? 0 : .max)
    }
}
