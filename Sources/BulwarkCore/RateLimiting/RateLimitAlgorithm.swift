/// The arithmetic of a rate-limiting algorithm, as a pure value: state + now + cost → decision.
///
/// An algorithm knows nothing of threads, queues or clocks: it is given the time as `Int64`
/// nanoseconds and mutates its own state. ``InMemoryRateLimiter`` wraps it in a lock and a
/// waiting queue; the Redis store runs the same arithmetic in a script. Every implementation of
/// one algorithm passes the same table of test vectors.
///
/// Conformers must be exact (integer arithmetic, no lost remainder) and must treat a clock
/// reading earlier than one already seen as that earlier reading: time never goes back.
public protocol RateLimitAlgorithm: Sendable {
    /// What configures the algorithm.
    associatedtype Configuration: Sendable

    /// Creates the algorithm's state at the clock reading `now`.
    ///
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` naming the first field that
    ///   breaks a rule.
    init(configuration: Configuration, now: Int64) throws(BulwarkError)

    /// The most the algorithm can ever admit at once. A cost above it is refused with an error.
    var limit: Int { get }

    /// Takes `cost` at `now` if it is available, and reports the decision.
    ///
    /// `cost` is already validated: `0 ... limit`.
    mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision

    /// Nanoseconds from `now` until `amount` could be taken if nothing else were, or 0 if it could
    /// be taken now.
    ///
    /// `amount` may exceed ``limit`` (a queue's total): the answer is then the time until that
    /// much has been admitted in turn. Saturates at `Int64.max`.
    func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64

    /// The figures at `now` without taking anything: allowed when `retryAfterNanoseconds` is 0
    /// (a zero-cost probe), denied with that retry-after otherwise (a caller queued behind others).
    func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision
}
