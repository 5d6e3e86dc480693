public import BulwarkCore

/// A timeout's deadline passed while the operation ran, `after` its start; the operation was cancelled.
///
/// Emitted as `.timeoutFired(after:)`; its name is `"timeout.fired"`.
public struct TimeoutFired: ResilienceEventDetail {
    /// The time from the start to the deadline.
    public var after: Duration

    /// Creates the event.
    public init(after: Duration) {
        self.after = after
    }

    /// `"timeout.fired"`.
    public var name: String { "timeout.fired" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("after_ns", "\(after.saturatingNanoseconds)")] }

    /// Warning: a dependency is too slow.
    public var severity: ResilienceEvent.Severity { .warning }
}

extension ResilienceEvent.Kind {
    /// TimeoutFired: a timeout's deadline passed while the operation ran, `after` its start; the operation was cancelled.
    public static func timeoutFired(after: Duration) -> Self {
        .detail(.init(TimeoutFired(after: after)))
    }
}
