public import BulwarkCore

/// An adaptive concurrency limit moved after a completed call.
///
/// Emitted as `.concurrencyLimitChanged(from:to:)`; its name is `"adaptive.limit_changed"`.
public struct ConcurrencyLimitChanged: ResilienceEventDetail {
    /// The limit before.
    public var from: Int
    /// The limit after.
    public var to: Int

    /// Creates the event.
    public init(from: Int, to: Int) {
        self.from = from
        self.to = to
    }

    /// `"adaptive.limit_changed"`.
    public var name: String { "adaptive.limit_changed" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("from", "\(from)"), ("to", "\(to)")] }

    /// Debug: the limit moves often.
    public var severity: ResilienceEvent.Severity { .debug }
}

/// A system-protection rule refused new work.
///
/// Emitted as `.overloadRejected(reason:)`; its name is `"system.overload_rejected"`.
public struct OverloadRejected: ResilienceEventDetail {
    /// `"concurrency"` or `"cpu"`.
    public var reason: String

    /// Creates the event.
    public init(reason: String) {
        self.reason = reason
    }

    /// `"system.overload_rejected"`.
    public var name: String { "system.overload_rejected" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("reason", reason)] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// ConcurrencyLimitChanged: an adaptive concurrency limit moved after a completed call.
    public static func concurrencyLimitChanged(from: Int, to: Int) -> Self {
        .detail(.init(ConcurrencyLimitChanged(from: from, to: to)))
    }

    /// OverloadRejected: a system-protection rule refused new work.
    public static func overloadRejected(reason: String) -> Self {
        .detail(.init(OverloadRejected(reason: reason)))
    }
}
