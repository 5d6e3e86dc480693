public import BulwarkCore


/// An observer that keeps every event it is handed, for tests that check what a policy reported.
///
///     let recorder = EventRecorder()
///     breaker.events.attach(recorder)
///     // ... drive the breaker ...
///     #expect(recorder.kinds.contains(.circuitStateChanged(from: .closed, to: .open)))
public final class EventRecorder: ResilienceObserver {
    private let recorded = LockedValue<[ResilienceEvent]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Keeps the event.
    public func observe(_ event: ResilienceEvent) {
        recorded.withLock { $0.append(event) }
    }

    /// The events so far, oldest first.
    public var events: [ResilienceEvent] {
        recorded.withLock { $0 }
    }

    /// The kinds of the events so far, oldest first.
    public var kinds: [ResilienceEvent.Kind] {
        events.map(\.kind)
    }

    /// Forgets the events so far.
    public func removeAll() {
        recorded.withLock { $0.removeAll() }
    }
}
