/// An event a module defines for itself, carried by ``ResilienceEvent/Kind/detail(_:)``.
///
/// Core lists only the events several modules share (limiter decisions, circuit states). Every
/// other module (retry, timeout, fallback, budget, health…) declares its events as types of its
/// own, so a new event never edits Core, and adds a factory on ``ResilienceEvent/Kind`` so that
/// emitting one reads like a case: `events.emit(.retryScheduled(attempt: 2, delay: delay))`.
/// Read one back by its type:
///
///     if let scheduled = event.detail(as: RetryScheduled.self) { print(scheduled.delay) }
///
/// Like Core's own payloads, every attribute value must be bounded, so that a metrics backend can
/// use it as a label.
public protocol ResilienceEventDetail: Sendable, Hashable, CustomStringConvertible {
    /// A short, fixed name such as `"retry.scheduled"`, for logs and metric names.
    var name: String { get }
    /// The payload as key–value pairs, for log metadata and span attributes.
    var attributes: [(String, String)] { get }
    /// How loud an operator wants it logged.
    var severity: ResilienceEvent.Severity { get }
    /// A duration worth a histogram, and the metric's name without its prefix (`"retry_delay"`);
    /// `nil` (the default) for none.
    var measurement: (metric: String, value: Duration)? { get }
}

extension ResilienceEventDetail {
    /// None.
    public var measurement: (metric: String, value: Duration)? { nil }

    /// `"<name> key=value…"`.
    public var description: String {
        ([name] + attributes.map { "\($0)=\($1)" }).joined(separator: " ")
    }
}

extension ResilienceEvent {
    /// How loud an event is: the log level an operator wants for it.
    public enum Severity: Sendable, Hashable, Comparable {
        /// Routine (a denial, a queued caller): counted, rarely logged.
        case debug
        /// Worth a line in the log (a state change, a fallback used).
        case notice
        /// Something an operator should look at (a circuit opened, a dependency disabled).
        case warning
    }

    /// A module's own event, type-erased so that ``Kind`` stays `Hashable`.
    public struct Detail: Sendable, Hashable, CustomStringConvertible {
        /// The event.
        public let base: any ResilienceEventDetail

        /// Wraps `base`.
        public init(_ base: some ResilienceEventDetail) {
            self.base = base
        }

        /// Equal when both wrap equal values of the same type.
        public static func == (lhs: Detail, rhs: Detail) -> Bool {
            AnyHashable(lhs.base) == AnyHashable(rhs.base)
        }

        /// Hashes the wrapped value.
        public func hash(into hasher: inout Hasher) {
            hasher.combine(AnyHashable(base))
        }

        /// The wrapped value's description.
        public var description: String { base.description }
    }

    /// The event's module-defined detail, if it is one of type `type`.
    public func detail<Detail: ResilienceEventDetail>(as type: Detail.Type) -> Detail? {
        kind.detail(as: type)
    }
}

extension ResilienceEvent.Kind {
    /// The module-defined detail, if this is one of type `type`.
    public func detail<Detail: ResilienceEventDetail>(as type: Detail.Type) -> Detail? {
        if case .detail(let detail) = self { detail.base as? Detail } else { nil }
    }
}
