/// The errors Bulwark's policies throw.
///
/// Every case says what happened and carries what a caller needs to react: how long to back off,
/// which bound was hit, or which configuration field broke which rule.
///
///     do {
///         try await limiter.acquire(cost: 1, deadline: .after(.seconds(2)))
///     } catch BulwarkError.waitTimedOut {
///         // answer 429 with Retry-After
///     }
public enum BulwarkError: Error, Sendable, Hashable, CustomStringConvertible, RetryAfterProviding, RateLimitSignal {
    /// The call was refused by a rate limit; retrying after `retryAfter` may succeed.
    case rateLimited(retryAfter: Duration)

    /// The waiting queue already holds `limit` waiters; the call was not queued.
    case queueFull(limit: Int)

    /// The call waited in the queue until its deadline without being admitted.
    case waitTimedOut

    /// A circuit breaker refused the call without trying it. It lets calls through again after
    /// `retryAfter` (the rest of its open time), or, when `retryAfter` is `nil`, only when a hand
    /// or its running probes move it (forced open, or half-open with every probe taken).
    case circuitOpen(retryAfter: Duration?)

    /// The operation did not finish within `after` and was cancelled.
    case timedOut(after: Duration)

    /// A configuration value broke a rule. `field` names the value, `rule` says what it must be.
    case invalidConfiguration(field: String, rule: String)

    /// An argument of a call broke a rule. `field` names the argument, `rule` says what it must be.
    case invalidArgument(field: String, rule: String)

    /// The queue or scheduler is shutting down: it takes no new work, and work it handed back
    /// was not run.
    case shutDown
    /// A system-protection rule refused new work because the service is overloaded: `reason` says
    /// which (`"concurrency"`: more in flight than throughput × latency allows; `"cpu"`: CPU
    /// usage above its threshold; `"maximum in flight"`: a fixed bound).
    case overloaded(reason: String)
    /// A health checker has disabled `dependency`; it is probed or re-enabled after a cool-down,
    /// at the earliest after `retryAfter` when known.
    case unavailable(dependency: String, retryAfter: Duration?)
    /// A dependency the policy decides with could not answer, and the policy fails closed:
    /// `reason` says why (for Redis, the client's error: no connection, a timeout, a lost reply).
    /// The call was refused without a decision; unlike ``unavailable(dependency:retryAfter:)``, no
    /// health checker is involved, and no retry-after is known.
    case dependencyFailed(dependency: String, reason: String)

    /// A sentence describing the error.
    public var description: String {
        switch self {
        case .rateLimited(let retryAfter):
            "rate limited: retry after \(retryAfter)"
        case .queueFull(let limit):
            "the waiting queue is full (\(limit) waiters)"
        case .waitTimedOut:
            "the wait for a permit reached its deadline"
        case .circuitOpen(let retryAfter?):
            "the circuit is open: retry after \(retryAfter)"
        case .circuitOpen(nil):
            "the circuit is open"
        case .timedOut(let after):
            "timed out after \(after)"
        case .invalidConfiguration(let field, let rule):
            "invalid configuration: \(field) \(rule)"
        case .invalidArgument(let field, let rule):
            "invalid argument: \(field) \(rule)"
        case .shutDown:
            "shut down: the work was not run"
        case .overloaded(let reason):
            "overloaded (\(reason)): new work is refused"
        case .unavailable(let dependency, let retryAfter?):
            "\(dependency) is disabled by its health checker: retry after \(retryAfter)"
        case .unavailable(let dependency, nil):
            "\(dependency) is disabled by its health checker"
        case .dependencyFailed(let dependency, let reason):
            "\(dependency) could not answer: \(reason)"
        }
    }
}

extension BulwarkError {
    /// How long to back off before the call may succeed: the retry-after of
    /// ``rateLimited(retryAfter:)``, ``circuitOpen(retryAfter:)`` and
    /// ``unavailable(dependency:retryAfter:)``, `nil` for the others.
    public var retryAfter: Duration? {
        switch self {
        case .rateLimited(let retryAfter): retryAfter
        case .circuitOpen(let retryAfter): retryAfter
        case .unavailable(_, let retryAfter): retryAfter
        default: nil
        }
    }

    /// Whether this is ``rateLimited(retryAfter:)``: a rate limit refused the call.
    public var isRateLimited: Bool {
        if case .rateLimited = self { true } else { false }
    }
}

/// An error that says how long to wait before trying again: a rate limit's or an open circuit's
/// retry-after, or an upstream HTTP 429's `Retry-After` header.
///
/// The retry policy waits exactly this long instead of its computed backoff. Conform your own
/// client's errors to let it honour what the server said.
///
///     struct UpstreamError: Error, RetryAfterProviding {
///         var status: Int
///         var retryAfter: Duration?   // parsed from the Retry-After header
///     }
public protocol RetryAfterProviding {
    /// How long to wait before trying again, or `nil` when the error does not say.
    var retryAfter: Duration? { get }
}

/// An error that may say a dependency refused the call for a rate limit or a quota (an HTTP 429,
/// a provider's "rate limit exceeded"), rather than that it failed.
///
/// A circuit breaker's default classifier counts such a refusal as
/// `CallOutcome.rateLimited`, which by default is neither success nor failure: a provider that
/// rations its callers is not broken. Conform your client's errors so that Bulwark can tell.
///
///     struct UpstreamError: Error, RateLimitSignal, RetryAfterProviding {
///         var status: Int
///         var retryAfter: Duration?
///         var isRateLimited: Bool { status == 429 }
///     }
public protocol RateLimitSignal {
    /// Whether the call was refused for a rate limit or quota.
    var isRateLimited: Bool { get }
}
