public import Synchronization

/// Where a policy sends its events: the observer attached to it, if any, and the name it reports
/// under.
///
/// Every Bulwark policy and limiter that makes decisions has one, as `events` (a pipeline and
/// `PassThrough` make none of their own: attach to the policies they compose; a success quota
/// reports through its budget's). Attaching and detaching are safe while calls run. With no observer attached, ``emit(_:context:)`` is one relaxed atomic load and a
/// branch: the event is not even built (its argument is an autoclosure), so nothing is allocated.
///
///     let breaker = try CircuitBreaker(configuration: .init(failureRateThreshold: 50))
///     breaker.events.attach(TelemetryObserver(), as: "provider-a")
public final class EventChannel: Sendable {
    @usableFromInline let attached = Atomic<Bool>(false)
    private let slot: LockedValue<(name: String, observer: (any ResilienceObserver)?)>

    /// Creates a channel with no observer, reporting as `defaultName` until one is attached with a
    /// name of its own.
    public init(defaultName: String) {
        slot = LockedValue((defaultName, nil))
    }

    /// The name events are reported under.
    public var name: String {
        slot.withLock { $0.name }
    }

    /// Sends this policy's events to `observer` from now on, named `name` (the policy's default
    /// name when `nil`), replacing any observer attached before.
    public func attach(_ observer: any ResilienceObserver, as name: String? = nil) {
        slot.withLock { slot in
            slot.observer = observer
            if let name { slot.name = name }
        }
        attached.store(true, ordering: .releasing)
    }

    /// Stops sending events.
    public func detach() {
        attached.store(false, ordering: .releasing)
        slot.withLock { $0.observer = nil }
    }

    /// Whether an observer is attached.
    @inlinable
    public var isObserved: Bool {
        attached.load(ordering: .relaxed)
    }

    /// Hands the event built by `kind` to the attached observer, if there is one; with none,
    /// builds nothing.
    @inlinable
    public func emit(_ kind: @autoclosure () -> ResilienceEvent.Kind, context: @autoclosure () -> ResilienceContext? = nil) {
        guard _slowPath(attached.load(ordering: .relaxed)) else { return }
        deliver(kind(), context: context())
    }

    @usableFromInline
    func deliver(_ kind: ResilienceEvent.Kind, context: ResilienceContext?) {
        let (name, observer) = slot.withLock { ($0.name, $0.observer) }
        observer?.observe(ResilienceEvent(source: name, kind: kind, context: context))
    }
}

extension EventChannel {
    /// Emits the event of a limiter's refusal of `cost` (a rate limit, a full queue, a wait that
    /// timed out); emits nothing for other errors. For composites whose waiting happens in an
    /// engine of their own.
    public func emitRefusal(_ error: any Error, cost: Int, context: ResilienceContext? = nil) {
        guard isObserved, let error = error as? BulwarkError else { return }
        switch error {
        case .rateLimited(let retryAfter): emit(.limiterDenied(cost: cost, retryAfter: retryAfter), context: context)
        case .queueFull(let limit): emit(.limiterQueueFull(cost: cost, limit: limit), context: context)
        case .waitTimedOut: emit(.limiterWaitTimedOut(cost: cost), context: context)
        default: break
        }
    }
}
