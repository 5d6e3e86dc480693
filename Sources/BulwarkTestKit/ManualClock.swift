public import BulwarkCore

/// A clock that moves only when a test tells it to: deterministic time for Bulwark's policies and
/// for your own pipelines.
///
/// Time starts at zero and advances with ``advance(by:)`` or ``advance(to:)``. Tasks sleeping on
/// the clock wake when it reaches their deadline, earliest first. A test can wait until the code
/// under test has gone to sleep with ``waitForSleepers(count:)`` instead of sleeping itself.
///
///     let clock = ManualClock()
///     let limiter = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(1), clock: clock)
///     _ = try limiter.tryAcquire()                    // takes the only token
///     async let next = limiter.acquire()              // queues
///     await clock.waitForSleepers(count: 1)           // the limiter's timer is asleep
///     clock.advance(by: .seconds(1))                  // the token is back: `next` is admitted
///
/// Advancing past several deadlines at once wakes their sleepers together, at the new time; to see
/// the intermediate moments, advance in steps.
public final class ManualClock: NanosecondClock, Sendable {
    /// The instant type: nanoseconds since the clock was created.
    public typealias Instant = NanosecondInstant

    private struct Sleeper {
        var id: UInt64
        var deadline: Int64
        var continuation: UnsafeContinuation<Void, any Error>
    }

    private struct Watcher {
        var id: UInt64
        var count: Int
        var continuation: UnsafeContinuation<Void, Never>
    }

    private struct State {
        var now: Int64
        var sleepers: [Sleeper] = []
        var watchers: [Watcher] = []
        var nextID: UInt64 = 0
    }

    private let state: LockedValue<State>

    /// Creates a clock reading `start` (zero by default).
    public init(start: NanosecondInstant = NanosecondInstant(nanoseconds: 0)) {
        state = LockedValue(State(now: start.nanoseconds))
    }

    /// The current reading, in nanoseconds.
    public var nowNanoseconds: Int64 {
        state.withLock { $0.now }
    }

    /// The current reading.
    public var now: NanosecondInstant {
        NanosecondInstant(nanoseconds: nowNanoseconds)
    }

    /// One nanosecond.
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks are asleep on the clock.
    public var sleeperCount: Int {
        state.withLock { $0.sleepers.count }
    }

    /// The earliest deadline among the sleepers, or `nil` when nobody sleeps.
    public var nextDeadline: NanosecondInstant? {
        state.withLock { $0.sleepers.map(\.deadline).min().map(NanosecondInstant.init(nanoseconds:)) }
    }

    /// Suspends until the clock is advanced to `deadline` or beyond.
    ///
    /// Returns at once when `deadline` has passed; throws `CancellationError` when the task is
    /// cancelled, before or while asleep.
    public func sleep(until deadline: NanosecondInstant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let ready: [UnsafeContinuation<Void, Never>]? = state.withLock { state in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return nil
                    }
                    if deadline.nanoseconds <= state.now {
                        continuation.resume()
                        return nil
                    }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline.nanoseconds, continuation: continuation))
                    return Self.satisfiedWatchers(&state)
                }
                for watcher in ready ?? [] { watcher.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward by `duration` and wakes the sleepers whose deadline it reaches.
    ///
    /// A negative duration leaves the clock where it is: time never goes back.
    public func advance(by duration: Duration) {
        let nanoseconds = max(0, duration.saturatingNanoseconds)
        move { $0.addingSaturating(nanoseconds) }
    }

    /// Moves the clock forward to `instant` (if it is later) and wakes the sleepers whose deadline
    /// it reaches, earliest first.
    public func advance(to instant: NanosecondInstant) {
        move { _ in instant.nanoseconds }
    }

    /// Sets the time to `target(now)` (never backwards) and wakes the sleepers it reaches.
    private func move(_ target: (Int64) -> Int64) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, target(state.now))
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Suspends until at least `count` tasks are asleep on the clock, or the waiting task is
    /// cancelled.
    ///
    /// Use it to let the code under test reach its sleep before advancing the clock, without
    /// sleeping in the test.
    public func waitForSleepers(count: Int) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.sleepers.count >= count || Task.isCancelled { return true }
                    state.watchers.append(Watcher(id: id, count: count, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let watcher = state.withLock { state -> Watcher? in
                guard let index = state.watchers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.watchers.remove(at: index)
            }
            watcher?.continuation.resume()
        }
    }

    private static func satisfiedWatchers(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
        let count = state.sleepers.count
        let ready = state.watchers.filter { $0.count <= count }.map(\.continuation)
        state.watchers.removeAll { $0.count <= count }
        return ready
    }
}
