#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Synchronization

/// A value guarded by a lock built for critical sections of a few nanoseconds, and visible to
/// ThreadSanitizer.
///
/// On Linux, `Synchronization.Mutex` locks through code the thread sanitizer does not see, so
/// every access under it is reported as a race (`swift test --sanitize=thread` fails on a
/// two-task counter). This lock is an atomic flag: taking it is one compare-exchange with
/// acquire ordering, releasing it one store with release ordering, both compiled into the caller,
/// so the sanitizer sees the happens-before edges (an uncontended compare-exchange measures 5 ns
/// here).
/// A contended caller spins briefly, then yields its thread to the scheduler until the holder
/// is done; it never sleeps in the kernel, so keep what runs under the lock short and free of
/// blocking calls.
///
/// On Apple platforms, where `Mutex` is `os_unfair_lock` and the sanitizer sees it (and where
/// spinning would invert priorities), it simply wraps `Mutex`.
@usableFromInline
package final class LockedValue<Value>: @unchecked Sendable {
    #if canImport(Darwin)
    @usableFromInline let mutex: Mutex<Value>

    /// Creates the box holding `value`.
    package init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    package func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        try mutex.withLock(body)
    }
    #else
    @usableFromInline let locked = Atomic<Bool>(false)
    @usableFromInline let storage: UnsafeMutablePointer<Value>

    /// Creates the box holding `value`.
    package init(_ value: sending Value) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable
    package func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if !locked.compareExchange(expected: false, desired: true, successOrdering: .acquiring, failureOrdering: .relaxed).exchanged {
            lockContended()
        }
        defer { locked.store(false, ordering: .releasing) }
        return try body(&storage.pointee)
    }

    /// Waits for the holder: a short spin, then yielding the thread between attempts.
    @usableFromInline
    func lockContended() {
        var attempts = 0
        while true {
            if !locked.load(ordering: .relaxed),
               locked.compareExchange(expected: false, desired: true, successOrdering: .acquiring, failureOrdering: .relaxed).exchanged {
                return
            }
            attempts += 1
            if attempts > 64 { sched_yield() }
        }
    }
    #endif
}
