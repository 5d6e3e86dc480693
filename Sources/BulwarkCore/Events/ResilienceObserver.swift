/// Receives the events of the policies it is attached to.
///
/// `observe` is called on the task that caused the event, outside every lock of the policy, and
/// the policy waits for it: keep it short (count, log, hand over to a stream). Telemetry's
/// `TelemetryObserver` maps events to swift-log, swift-metrics and swift-distributed-tracing.
///
///     struct Printer: ResilienceObserver {
///         func observe(_ event: ResilienceEvent) { print(event) }
///     }
///     breaker.events.attach(Printer(), as: "provider-a")
public protocol ResilienceObserver: Sendable {
    /// Handles one event.
    func observe(_ event: ResilienceEvent)
}

/// An observer made of a closure.
///
///     limiter.events.attach(ClosureObserver { print($0) }, as: "rpm")
public struct ClosureObserver: ResilienceObserver {
    @usableFromInline let body: @Sendable (ResilienceEvent) -> Void

    /// Creates an observer that hands every event to `body`.
    public init(_ body: @escaping @Sendable (ResilienceEvent) -> Void) {
        self.body = body
    }

    /// Hands the event to the closure.
    public func observe(_ event: ResilienceEvent) {
        body(event)
    }
}

/// An observer that hands every event to several observers, in order.
///
///     limiter.events.attach(ObserverGroup([telemetry, recorder]), as: "rpm")
public struct ObserverGroup: ResilienceObserver {
    /// The observers, in the order they are told.
    public let observers: [any ResilienceObserver]

    /// Creates a group of `observers`.
    public init(_ observers: [any ResilienceObserver]) {
        self.observers = observers
    }

    /// Hands the event to each observer in turn.
    public func observe(_ event: ResilienceEvent) {
        for observer in observers { observer.observe(event) }
    }
}
