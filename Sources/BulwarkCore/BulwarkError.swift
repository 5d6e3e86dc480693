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
public enum BulwarkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call was refused by a rate limit; retrying after `retryAfter` may succeed.
    case rateLimited(retryAfter: Duration)

    /// The waiting queue already holds `limit` waiters; the call was not queued.
    case queueFull(limit: Int)

    /// The call waited in the queue until its deadline without being admitted.
    case waitTimedOut

    /// A configuration value broke a rule. `field` names the value, `rule` says what it must be.
    case invalidConfiguration(field: String, rule: String)

    /// An argument of a call broke a rule. `field` names the argument, `rule` says what it must be.
    case invalidArgument(field: String, rule: String)

    /// A sentence describing the error.
    public var description: String {
        switch self {
        case .rateLimited(let retryAfter):
            "rate limited: retry after \(retryAfter)"
        case .queueFull(let limit):
            "the waiting queue is full (\(limit) waiters)"
        case .waitTimedOut:
            "the wait for a permit reached its deadline"
        case .invalidConfiguration(let field, let rule):
            "invalid configuration: \(field) \(rule)"
        case .invalidArgument(let field, let rule):
            "invalid argument: \(field) \(rule)"
        }
    }
}
