// Small fixtures that suites in several test targets use: errors an operation throws, a reading a
// test sets, fake /proc files, a driver of the manual clock, and ways to read an outcome.
package import BulwarkCore
import BulwarkMonitors
package import BulwarkTestKit

/// An error an operation throws.
package struct Failure: Error {
    package init() {}
}

/// A request the service refuses: an error a fallback route stops on, or any failure.
package struct BadRequest: Error {
    package init() {}
}

/// A failure of the attempt `attempt`.
package struct Flaky: Error, Equatable {
    package var attempt: Int

    package init(attempt: Int) {
        self.attempt = attempt
    }
}

/// A reading a test sets (a signal, a CPU usage).
package final class Signal: Sendable {
    private let value = LockedValue<Double?>(nil)
    package init() {}
    package func set(_ reading: Double?) { value.withLock { $0 = reading } }
    package var reading: Double? { value.withLock { $0 } }
}

extension ExecutionOutcome {
    /// The value of a success, or `nil`.
    package var value: Success? { try? get() }
}

/// The refusal in an outcome, or `nil` when it is not one.
package func refusal<T>(_ outcome: ExecutionOutcome<T>) -> BulwarkError? {
    if case .rejected(let error) = outcome { return error }
    return nil
}

/// Runs `body` in a task and advances the manual clock each time the code under test sleeps,
/// until it ends; returns what it returned.
package func driving<T: Sendable>(_ clock: ManualClock, _ body: @escaping @Sendable () async -> T) async -> T {
    let task = Task { await body() }
    let done = Counter()
    let driver = Task {
        while done.value == 0 {
            if let next = clock.nextDeadline {
                clock.advance(to: next)
            }
            await Task.yield()
        }
    }
    let result = await task.value
    done.add(1)
    await driver.value
    return result
}

/// Fake `/proc` and cgroup files a test rewrites between samples.
package final class FakeFiles: ResourceSource, Sendable {
    private let files = LockedValue<[String: String]>([:])
    package let clockTicksPerSecond = 100
    package let onlineCPUs = 8
    package init() {}
    package subscript(path: String) -> String? {
        get { files.withLock { $0[path] } }
        set { files.withLock { $0[path] = newValue } }
    }
    package func read(_ path: String) -> String? { self[path] }

    /// A machine whose CPUs have been busy `busy` and idle `idle` ticks, the process `ticks`.
    package func machine(busy: Int, idle: Int, processTicks: Int, totalKB: Int = 1000, availableKB: Int = 250) {
        self["/proc/stat"] = "cpu  \(busy) 0 0 \(idle) 0 0 0 0 0 0\ncpu0 1 2 3 4\n"
        self["/proc/meminfo"] = "MemTotal:       \(totalKB) kB\nMemFree:  1 kB\nMemAvailable:   \(availableKB) kB\n"
        self["/proc/self/stat"] = "4242 (my server) S 1 4242 4242 0 -1 4194304 100 0 0 0 \(processTicks - 10) 10 0 0 20 0 8 0 1 2 3"
        self["/proc/self/statm"] = "5000 300 100 10 0 200 0\n"
    }
}
