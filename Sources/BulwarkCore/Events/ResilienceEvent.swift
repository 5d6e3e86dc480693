/// Something a policy did that an application may want to log, count or trace.
///
/// Events are built only when an observer is attached to the policy (see ``EventChannel``): with
/// none, emitting one is a single relaxed atomic load. Every payload is bounded (numbers, states,
/// the names the application gave its policies and alternatives), so a metrics backend can use
/// them as labels without growing without bound; the call's context travels beside them for logs
/// and traces.
///
///     limiter.events.attach(ClosureObserver { event in
///         if case .limiterDenied(_, let retryAfter) = event.kind { print("429 for \(retryAfter)") }
///     }, as: "openai-rpm")
///
/// ``Kind`` lists the events several modules share: limiter decisions (seven modules emit them)
/// and circuit states (whose type health checks and Redis read too). Each other module owns its
/// events as ``ResilienceEventDetail`` types, carried by ``Kind/detail(_:)``.
public struct ResilienceEvent: Sendable, CustomStringConvertible {
    /// What happened, with its figures.
    public enum Kind: Sendable, Hashable {
        /// A limiter refused `cost` without queueing it (no capacity now, a predicted wait refused
        /// early, or a queue ahead of a caller that does not wait).
        case limiterDenied(cost: Int, retryAfter: Duration)
        /// A limiter queued a caller of `cost` behind `waiting` others.
        case limiterQueued(cost: Int, waiting: Int)
        /// A limiter's queue was full: the caller of `cost` was refused.
        case limiterQueueFull(cost: Int, limit: Int)
        /// A queued caller of `cost` reached its deadline without being admitted.
        case limiterWaitTimedOut(cost: Int)
        /// A circuit breaker moved between states.
        case circuitStateChanged(from: CircuitState, to: CircuitState)
        /// A circuit breaker refused a call; it lets calls through again after `retryAfter` (`nil`
        /// when only a hand or the running probes decide).
        case circuitRejected(state: CircuitState, retryAfter: Duration?)
        /// An event its module defines (retry, timeout, fallback, budget, health…): see
        /// ``ResilienceEventDetail``.
        case detail(Detail)
    }

    /// The name the policy was given when the observer was attached.
    public var source: String

    /// What happened.
    public var kind: Kind

    /// The call the event is about, when the policy was given it: `nil` for the calls that take
    /// no context (a limiter's `tryAcquire` and `acquire`, a partitioned limiter's, the lock-free
    /// GCRA's, a breaker's `tryAcquirePermit`, a manual transition).
    public var context: ResilienceContext?

    /// Creates an event.
    public init(source: String, kind: Kind, context: ResilienceContext? = nil) {
        self.source = source
        self.kind = kind
        self.context = context
    }

    /// `"<source>: <kind>"`.
    public var description: String {
        "\(source): \(kind)"
    }
}

extension ResilienceEvent.Kind {
    /// A short, fixed name for the kind (`"limiter.denied"`, `"circuit.state_changed"`), for logs
    /// and metric names.
    public var name: String {
        switch self {
        case .limiterDenied: "limiter.denied"
        case .limiterQueued: "limiter.queued"
        case .limiterQueueFull: "limiter.queue_full"
        case .limiterWaitTimedOut: "limiter.wait_timed_out"
        case .circuitStateChanged: "circuit.state_changed"
        case .circuitRejected: "circuit.rejected"
        case .detail(let detail): detail.base.name
        }
    }
}
