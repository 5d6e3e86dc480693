// Helpers shared by every test target: deterministic randomness, and ways to wait for other tasks
// without sleeping on time.
import BulwarkCore
package import Testing
import Synchronization
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Yields until `condition` holds: lets other tasks reach a state without sleeping on time.
///
/// It gives up after 45 s of real time (four minutes under the thread sanitizer: inside the
/// suites' limits, see ``Testing/Trait/timeLimit(minutes:)``), not after a count of yields: on a
/// busy machine (two CPU-bound processes beside the suite, or the thread sanitizer) the tasks it
/// waits for may get no thread for a long while. After the first 10,000 yields it also pauses a millisecond between
/// checks, so a long wait does not burn the core those tasks need. Nothing is asserted about how
/// long the wait took.
package func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
    await eventuallyAsync({ condition() }, sourceLocation: sourceLocation)
}

/// Yields until the asynchronous `condition` holds (see ``eventually(_:sourceLocation:)``).
package func eventuallyAsync(_ condition: () async -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
    let patience: Duration = isThreadSanitized ? .seconds(240) : .seconds(45)
    let giveUp = ContinuousClock.now + patience
    var checks = 0
    while true {
        if await condition() { return }
        checks += 1
        if checks > 10_000 {
            guard ContinuousClock.now < giveUp else { break }
            try? await Task.sleep(for: .milliseconds(1))
        } else {
            await Task.yield()
        }
    }
    Issue.record("condition never became true within \(patience)", sourceLocation: sourceLocation)
}

/// Records the order in which things happen, from any task.
package final class Journal<Entry: Sendable>: Sendable {
    fileprivate let entries = LockedValue<[Entry]>([])
    package init() {}
    package func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    package var all: [Entry] { entries.withLock { $0 } }
}

/// A shared tally that tasks add to.
package final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    package init() {}
    package func add(_ amount: Int) { atomic.add(amount, ordering: .relaxed) }
    package var value: Int { atomic.load(ordering: .relaxed) }
}

extension Journal {
    /// Forgets the entries so far.
    package func removeAll() { entries.withLock { $0.removeAll() } }
}

/// A gate tasks wait at until a test opens it.
package actor AsyncGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    package init() {}

    /// Waits until the gate is open.
    package func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Opens the gate for every waiter, now and later.
    package func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}

/// Runs blocking work (a child process, a blocking read, a spin) on a Dispatch thread, so that a
/// test waiting for it does not hold one of the few threads of Swift's concurrency pool (two on a
/// two-core machine) that every other test running beside it needs.
package func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// Whether this test process runs under the thread sanitizer (`swift test --sanitize=thread`).
///
/// For the few long, single-threaded simulations whose arithmetic the sanitizer cannot say
/// anything about, but whose tenfold slowdown would starve every suite running beside them.
package let isThreadSanitized: Bool = {
    #if canImport(Glibc)
    return dlsym(nil, "__tsan_init") != nil
    #else
    return false
    #endif
}()

extension Trait where Self == TimeLimitTrait {
    /// A limit of `minutes` in a plain run, five times that under the thread sanitizer.
    ///
    /// Swift Testing runs every suite at once on Swift's concurrency pool (two threads on a
    /// two-core machine), so a test's wall time includes the time every other test holds those
    /// threads: under the sanitizer's tenfold slowdown, with two CPU-bound processes beside the
    /// suite, a test that takes a second alone can wait minutes for a thread. The limit is there
    /// to catch a hang, not to time the code.
    package static func timeLimit(minutes: Int) -> Self {
        .timeLimit(.minutes(isThreadSanitized ? 5 * minutes : minutes))
    }
}

/// Whether the solo tests run: those that load both cores for many seconds (the tokenizer's
/// corpus, the gateway's live runs), which `swift test` skips so that they do not slow the
/// timing-bound suites beside them. CI runs them in a step of their own:
/// `BULWARK_SOLO=1 swift test --skip-build --filter <suites>`.
package let soloTests = ProcessInfo.processInfo.environment["BULWARK_SOLO"] == "1"
