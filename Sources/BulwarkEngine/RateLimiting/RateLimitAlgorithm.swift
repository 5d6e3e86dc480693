public import BulwarkCore

/// The arithmetic of a rate-limiting algorithm, as a pure value: state + now + cost → decision.
///
/// An algorithm knows nothing of threads, queues or clocks: it is given the time as `Int64`
/// nanoseconds and mutates its own state. ``InMemoryRateLimiter`` wraps it in a lock and a
/// waiting queue; a partitioned limiter keeps one `State` per key; the Redis store runs the same
/// arithmetic in a script. Every implementation of one algorithm passes the same table of test
/// vectors (`Tests/Vectors/`).
///
/// Conformers must be exact (integer arithmetic, no lost remainder) and must treat a clock
/// reading earlier than the latest one they have seen as that latest reading: time never goes
/// back. Durations they report are then counted from the caller's own reading, so they stay exact.
///
/// A value splits into what configuration fixed (its `let`s) and its `state` (a few integers,
/// or a bounded buffer), so that many keys can share one configuration.
public protocol RateLimitAlgorithm: Sendable {
    /// What configures the algorithm.
    associatedtype Configuration: Sendable

    /// The part of the algorithm that changes with each decision: what a partitioned limiter
    /// keeps per key and what a store persists.
    associatedtype State: Sendable

    /// Creates the algorithm's state at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the first field that
    ///   breaks a rule.
    init(configuration: Configuration, now: Int64) throws(BulwarkError)

    /// The most the algorithm can ever admit at once. A cost above it is refused with an error.
    var limit: Int { get }

    /// The changing part of the algorithm. Replacing it moves the algorithm to another key's state.
    var state: State { get set }

    /// The latest clock reading the state has taken into account; an allowed `tryConsume(_:at:)`
    /// admits its cost at this reading (what `refund(_:admittedAt:at:)` is later told).
    var updatedAt: Int64 { get }

    /// Takes `cost` at `now` if it is available, and reports the decision.
    ///
    /// `cost` is already validated: `0 ... limit`. A cost of 0 is a probe: allowed, and it changes
    /// nothing.
    mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision

    /// Gives back `amount` of a cost admitted at `admittedAt` (an `updatedAt` reading), exactly
    /// as if that admission had taken `amount` less.
    ///
    /// Where the admission no longer counts (its window has passed) it changes nothing; nothing
    /// goes below empty. A concurrency limit releases its permits this way.
    mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64)

    /// Takes `amount` at `now` even if it is not available: debt that later requests pay first.
    ///
    /// Debt is capped at one ``limit``: the state never records more than twice the limit in use,
    /// and the excess of a larger charge is forgiven.
    mutating func charge(_ amount: Int, at now: Int64)

    /// Nanoseconds from `now` until `amount` could be taken if nothing else were, or 0 if it could
    /// be taken now; `Int64.max` when time alone will not make it available (a concurrency limit).
    ///
    /// `amount` may exceed ``limit`` (a queue's total): the answer is then the time until that
    /// much has been admitted in turn. Saturates at `Int64.max`.
    func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64

    /// Nanoseconds from `now` until a request of `cost` is admitted behind `queuedAhead` already
    /// queued in front of it, if nothing else changes; `Int64.max` when time alone cannot tell.
    ///
    /// The default is `nanosecondsUntilAvailable(queuedAhead + cost, at: now)`; an algorithm whose
    /// requests are not interchangeable by cost (a pacing shaper) answers for itself.
    func nanosecondsUntilAdmitted(queuedAhead: Int, cost: Int, at now: Int64) -> Int64

    /// The figures at `now` without taking anything: allowed when `retryAfterNanoseconds` is 0
    /// (a zero-cost probe), denied with that retry-after otherwise (a caller queued behind others).
    func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision

    /// The state a new key starts with at `now`: what ``init(configuration:now:)`` would create.
    func freshState(at now: Int64) -> State

    /// Whether the state at `now` behaves, for every later step, exactly like `freshState(at:)`
    /// created then (a full bucket, an empty window): dropping it changes no decision.
    func isFresh(at now: Int64) -> Bool
}

extension RateLimitAlgorithm {
    /// The time a step asked for at `now` runs at: `now`, or the latest reading the state has
    /// taken into account when `now` is earlier. Two threads can read a clock and take the lock in
    /// the opposite order (and a manual clock can be moved back), so a step may be handed a reading
    /// older than the state's; no algorithm goes back in time, and every step starts here.
    @inlinable @inline(__always)
    public func timeOfStep(at now: Int64) -> Int64 {
        max(now, updatedAt)
    }

    /// `nanosecondsUntilAvailable(queuedAhead + cost, at: now)`, saturating.
    public func nanosecondsUntilAdmitted(queuedAhead: Int, cost: Int, at now: Int64) -> Int64 {
        let (total, overflow) = queuedAhead.addingReportingOverflow(cost)
        return nanosecondsUntilAvailable(overflow ? .max : total, at: now)
    }
}
