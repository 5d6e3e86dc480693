public import BulwarkCore

/// What a Redis type does when Redis cannot answer in time (down, unreachable, too slow, or a
/// reply lost so that the decision is uncertain): the one failure model of every Redis limiter,
/// chain, budget, quota and concurrency limiter.
///
/// Every type takes `.failOpen` and `.failClosed` (the default). `.fallback` and `.localShare`
/// decide with a limiter in memory, so only ``RedisRateLimiter`` (one limit, one algorithm) takes
/// them; the others refuse them when made, naming the field `failurePolicy`. Only admissions
/// follow the policy: a refund, charge, settlement, release or renewal Redis cannot make throws
/// `BulwarkError/dependencyFailed(dependency:reason:)` whatever the policy (under `.failOpen` the
/// admission it would undo was usually made without Redis, so there is nothing to undo). An error
/// reply from a script itself is thrown as `RedisError.server`: a bug to see, not an outage to
/// hide. The first failure of an outage emits `DistributedStateUnavailable`, the first answer
/// after it `DistributedStateRecovered`.
public enum RedisFailurePolicy: Sendable {
    /// Admit the call: availability over the limit. The decision says where it came from.
    case failOpen
    /// Refuse the call with `BulwarkError/dependencyFailed(dependency:reason:)` (dependency
    /// `"redis"`), whose reason is the client's error: `Redis unavailable: …` when no connection
    /// could be made.
    case failClosed
    /// Decide with a local limiter instead, typically an in-memory one holding this node's share
    /// of the limit (a tenth of it for ten nodes): the limit holds approximately while Redis is
    /// away, each node counting for itself.
    case fallback(any RateLimiter)
    /// Decide with the same algorithm in memory, holding `share` of the limit (`0.1` of it on each
    /// of ten nodes; see ``RedisLimit/localLimiter(share:clock:timeSource:)``), made when the
    /// limiter is, its windows aligned to the limiter's time source.
    case localShare(Double)
}

extension RedisFailurePolicy {
    /// The policy's name in `DistributedStateUnavailable`: `"fail open"`, `"fail closed"` or
    /// `"fallback"`.
    var eventName: String {
        switch self {
        case .failOpen: "fail open"
        case .failClosed: "fail closed"
        case .fallback, .localShare: "fallback"
        }
    }

    /// The refusal for a call Redis could not answer: `dependencyFailed("redis", error)`.
    func refusal(_ error: RedisError) -> BulwarkError {
        .dependencyFailed(dependency: "redis", reason: error.description)
    }

    /// Refuses the policies that need one limit in memory, for the types that have several (or
    /// none).
    func requireOpenOrClosed() throws(BulwarkError) {
        switch self {
        case .failOpen, .failClosed: return
        case .fallback, .localShare:
            throw .invalidConfiguration(
                field: "failurePolicy", rule: "must be failOpen or failClosed: a local fallback needs a single limit (RedisRateLimiter)"
            )
        }
    }
}

/// The outage state of one Redis type: runs its calls, tells an outage (to apply the policy to)
/// from a script error (thrown), and emits the unavailable and recovered events once per outage.
final class RedisOutage: Sendable {
    private let key: String
    private let events: EventChannel
    private let degraded = LockedValue(false)

    /// An outage tracker reporting on `events` for `key`.
    init(key: String, events: EventChannel) {
        self.key = key
        self.events = events
    }

    /// Runs `call`: its value when Redis answered (ending an outage), or the client's error when
    /// it could not (starting one, under `policy`).
    ///
    /// - Throws: `RedisError.server` for an error reply: the script failed, Redis did not.
    func attempt<Value>(
        _ policy: RedisFailurePolicy, _ call: () async throws(RedisError) -> Value
    ) async throws(RedisError) -> Result<Value, RedisError> {
        do {
            let value = try await call()
            let was = degraded.withLock { degraded in
                defer { degraded = false }
                return degraded
            }
            if was { events.emit(.distributedStateRecovered(key: key)) }
            return .success(value)
        } catch {
            if case .server = error { throw error }
            let first = degraded.withLock { degraded in
                defer { degraded = true }
                return !degraded
            }
            if first {
                events.emit(.distributedStateUnavailable(key: key, policy: policy.eventName, reason: error.description))
            }
            return .failure(error)
        }
    }

    /// Runs `call` under `.failOpen` or `.failClosed`: its value, or `nil` when Redis could not
    /// answer and the policy admits without it.
    ///
    /// - Throws: `BulwarkError/dependencyFailed(dependency:reason:)` when Redis could not answer
    ///   under `.failClosed`; `RedisError.server` for a script error.
    func run<Value>(_ policy: RedisFailurePolicy, _ call: () async throws(RedisError) -> Value) async throws -> Value? {
        switch try await attempt(policy, call) {
        case .success(let value): return value
        case .failure(let error):
            if case .failOpen = policy { return nil }
            throw policy.refusal(error)
        }
    }
}
