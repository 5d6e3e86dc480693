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
        /// A retry policy will run attempt `attempt` after `delay`.
        case retryScheduled(attempt: Int, delay: Duration)
        /// A retry policy did not run attempt `attempt` although the error was retryable.
        case retryRefused(attempt: Int, reason: RetryRefusal)
        /// A hedging policy started attempt `attempt` beside the ones still running.
        case hedgeStarted(attempt: Int)
        /// A fallback chain skipped an alternative without trying it (its breaker is open or its
        /// limiter would deny at once).
        case fallbackSkipped(alternative: String, retryAfter: Duration?)
        /// An alternative of a fallback chain failed; the chain moves on (or stops, when
        /// `stopped`).
        case fallbackFailed(alternative: String, stopped: Bool, error: String)
        /// An alternative of a fallback chain served the call (the last resort is named
        /// `"last-resort"`).
        case fallbackUsed(alternative: String)
        /// A timeout's deadline passed while the operation ran, `after` its start; the operation
        /// was cancelled.
        case timeoutFired(after: Duration)
        /// A budget dimension went into debt: `debt` more was used than it had.
        case budgetDebt(dimension: String, debt: Int)
        /// A budget could not read the real usage of a call (the operation failed, or its result
        /// reports none and no usage reader was given), so the reservation stays at its estimate:
        /// `reason` says which.
        case budgetSettledAtEstimate(reason: String)
        /// An adaptive concurrency limit moved after a completed call.
        case concurrencyLimitChanged(from: Int, to: Int)
        /// A system-protection rule refused new work: `reason` is `"concurrency"` or `"cpu"`.
        case overloadRejected(reason: String)
        /// A health checker enabled or disabled a dependency, for `reason` (the rule that tripped,
        /// or how it recovered).
        case healthChanged(dependency: String, enabled: Bool, reason: String)
        /// A degradation controller moved the service between levels.
        case degradationChanged(from: String, to: String)
        /// A feature switch turned on or off (by the degradation level or by hand).
        case featureSwitched(feature: String, enabled: Bool)
        /// A hotspot detector found a key hot, or saw it cool down. The key's description is a
        /// payload for logs and spans; telemetry never makes it a metric label (at most the
        /// detector's tracked keys are hot at once, but over time any key may be).
        case hotKeyChanged(key: String, hot: Bool)
        /// A limiter whose state lives in a shared store (Redis) could not reach it in time and
        /// switched to its failure policy (`"fail open"`, `"fail closed"` or `"fallback"`); emitted
        /// once per outage, with the first failure's reason.
        case distributedStateUnavailable(key: String, policy: String, reason: String)
        /// The shared store answered again after ``distributedStateUnavailable(key:policy:reason:)``.
        case distributedStateRecovered(key: String)
    }

    /// Why a retry policy did not retry a retryable error.
    public enum RetryRefusal: Sendable, Hashable, CustomStringConvertible {
        /// The retry budget had no retry left: retries would amplify an outage.
        case budgetExhausted
        /// The retry would start after the context's deadline.
        case deadline
        /// The error asked to wait longer than the policy's maximum delay.
        case retryAfterTooLong

        /// `"budget exhausted"`, `"deadline"` or `"retry-after too long"`.
        public var description: String {
            switch self {
            case .budgetExhausted: "budget exhausted"
            case .deadline: "deadline"
            case .retryAfterTooLong: "retry-after too long"
            }
        }
    }

    /// The name the policy was given when the observer was attached.
    public var source: String

    /// What happened.
    public var kind: Kind

    /// The call the event is about, when the policy was given it: `nil` for the calls that take
    /// no context (a limiter's `tryAcquire` and `acquire`, a partitioned limiter's, the lock-free
    /// GCRA's, a breaker's `acquirePermit`, a manual transition).
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
        case .retryScheduled: "retry.scheduled"
        case .retryRefused: "retry.refused"
        case .hedgeStarted: "hedge.started"
        case .fallbackSkipped: "fallback.skipped"
        case .fallbackFailed: "fallback.failed"
        case .fallbackUsed: "fallback.used"
        case .timeoutFired: "timeout.fired"
        case .budgetDebt: "budget.debt"
        case .budgetSettledAtEstimate: "budget.settled_at_estimate"
        case .concurrencyLimitChanged: "adaptive.limit_changed"
        case .overloadRejected: "system.overload_rejected"
        case .healthChanged: "health.changed"
        case .degradationChanged: "degradation.changed"
        case .featureSwitched: "feature.switched"
        case .hotKeyChanged: "hotspot.changed"
        case .distributedStateUnavailable: "distributed.unavailable"
        case .distributedStateRecovered: "distributed.recovered"
        }
    }
}
