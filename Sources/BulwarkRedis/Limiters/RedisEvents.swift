public import BulwarkCore

/// A limiter whose state lives in a shared store (Redis) could not reach it in time and switched to its failure policy; emitted once per outage, with the first failure's reason.
///
/// Emitted as `.distributedStateUnavailable(key:policy:reason:)`; its name is `"distributed.unavailable"`.
public struct DistributedStateUnavailable: ResilienceEventDetail {
    /// The limiter's key.
    public var key: String
    /// `"fail open"`, `"fail closed"` or `"fallback"`.
    public var policy: String
    /// The first failure's description.
    public var reason: String

    /// Creates the event.
    public init(key: String, policy: String, reason: String) {
        self.key = key
        self.policy = policy
        self.reason = reason
    }

    /// `"distributed.unavailable"`.
    public var name: String { "distributed.unavailable" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("key", key), ("policy", policy), ("reason", reason)] }

    /// Warning.
    public var severity: ResilienceEvent.Severity { .warning }
}

/// The shared store answered again after a `DistributedStateUnavailable`.
///
/// Emitted as `.distributedStateRecovered(key:)`; its name is `"distributed.recovered"`.
public struct DistributedStateRecovered: ResilienceEventDetail {
    /// The limiter's key.
    public var key: String

    /// Creates the event.
    public init(key: String) {
        self.key = key
    }

    /// `"distributed.recovered"`.
    public var name: String { "distributed.recovered" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("key", key)] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// DistributedStateUnavailable: a limiter whose state lives in a shared store (Redis) could not reach it in time and switched to its failure policy; emitted once per outage, with the first failure's reason.
    public static func distributedStateUnavailable(key: String, policy: String, reason: String) -> Self {
        .detail(.init(DistributedStateUnavailable(key: key, policy: policy, reason: reason)))
    }

    /// DistributedStateRecovered: the shared store answered again after a `DistributedStateUnavailable`.
    public static func distributedStateRecovered(key: String) -> Self {
        .detail(.init(DistributedStateRecovered(key: key)))
    }
}
