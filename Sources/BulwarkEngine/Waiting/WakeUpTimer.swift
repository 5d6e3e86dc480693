import BulwarkCore

/// The pending wake-up of a queue: one task sleeping on the clock until the next moment the queue
/// can change, replaced when an earlier moment comes up and cancelled when nothing is due.
///
/// Shared by the limiters' waiting room and the job queues. It is a plain value kept under its
/// owner's lock; a fired task reports its generation, so a wake-up that was replaced in the
/// meantime is recognised and ignored.
package struct WakeUpTimer: Sendable {
    private var generation: UInt64 = 0
    private var armed: (fireAt: Int64, generation: UInt64, task: Task<Void, Never>)?

    /// Creates a timer with nothing armed.
    package init() {}

    /// Makes sure a wake-up is due at `fireAt` (or none when `nil`): keeps the armed one if it is
    /// due no later, otherwise cancels it and starts `wake(generation)` in a task that first
    /// sleeps until `fireAt` on `clock`.
    package mutating func arm<C: NanosecondClock>(
        at fireAt: Int64?, clock: C, wake: @escaping @Sendable (UInt64) -> Void
    ) {
        guard let fireAt, fireAt < .max else {
            cancel()
            return
        }
        if let armed, armed.fireAt <= fireAt { return }
        armed?.task.cancel()
        generation &+= 1
        let generation = generation
        let task = Task {
            do {
                try await clock.sleep(untilNanoseconds: fireAt)
            } catch where Task.isCancelled {
                return  // a newer wake-up, or an empty queue, replaced this one
            } catch {
                // A clock that fails to sleep: look at the queue now rather than never.
            }
            wake(generation)
        }
        armed = (fireAt, generation, task)
    }

    /// Called by a woken task under the owner's lock: whether it is the current wake-up (which is
    /// then disarmed) rather than one replaced since.
    package mutating func fired(generation: UInt64) -> Bool {
        guard armed?.generation == generation else { return false }
        armed = nil
        return true
    }

    /// Cancels the pending wake-up.
    package mutating func cancel() {
        armed?.task.cancel()
        armed = nil
    }
}
