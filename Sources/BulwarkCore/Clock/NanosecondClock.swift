#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A clock that can tell the time as whole nanoseconds, the unit every Bulwark algorithm computes in.
///
/// Bulwark's limiters do their arithmetic on `Int64` nanoseconds: exact, with no floating-point
/// drift, and cheap. Turning a `Duration` into nanoseconds costs a 128-bit division (9 ns
/// measured here, a quarter of a whole limiter decision), so time-dependent Bulwark types take a clock that
/// can give the integer directly.
///
/// `ContinuousClock`, `SuspendingClock`, `CachedClock` and the test kit's `ManualClock` conform.
/// Any other clock conforms by returning its current instant as nanoseconds from a fixed origin
/// of its own choosing; only differences between two readings are ever used.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60),
///                                          clock: ContinuousClock())
public protocol NanosecondClock: Clock where Duration == Swift.Duration {
    /// The current time, in nanoseconds since this clock's (arbitrary, fixed) origin.
    ///
    /// Readings never decrease, and `now` and `nowNanoseconds` read the same time line.
    var nowNanoseconds: Int64 { get }

    /// Suspends until this clock's reading reaches `nanoseconds`, or throws `CancellationError`
    /// if the task is cancelled first. Returns at once when that time has already passed.
    ///
    /// The default converts through `now`, reading the clock twice; a clock whose instants are
    /// ``NanosecondInstant``s (`CachedClock`, `ManualClock`) gets a default that builds the
    /// instant directly, so a test that moves the clock between the two readings cannot stretch
    /// the sleep.
    func sleep(untilNanoseconds nanoseconds: Int64) async throws
}

extension NanosecondClock {
    /// Suspends until this clock's reading reaches `nanoseconds`, through `now`.
    public func sleep(untilNanoseconds nanoseconds: Int64) async throws {
        let remaining = nanoseconds &- nowNanoseconds
        if remaining <= 0 {
            try Task.checkCancellation()
            return
        }
        try await sleep(until: now.advanced(by: .nanoseconds(remaining)), tolerance: nil)
    }
}

/// Reads a POSIX clock as whole nanoseconds.
private func readSystemClock(_ id: clockid_t) -> Int64 {
    var spec = timespec()
    clock_gettime(id, &spec)
    return Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec)
}

extension ContinuousClock: NanosecondClock {
    /// The current time in nanoseconds, read from the same system clock as `ContinuousClock.now`
    /// (`CLOCK_BOOTTIME` on Linux, `CLOCK_MONOTONIC_RAW` on Apple platforms) without building a
    /// `Duration`.
    public var nowNanoseconds: Int64 {
        #if canImport(Darwin)
        Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW))
        #else
        readSystemClock(CLOCK_BOOTTIME)
        #endif
    }
}

extension SuspendingClock: NanosecondClock {
    /// The current time in nanoseconds, read from the same system clock as `SuspendingClock.now`
    /// (`CLOCK_MONOTONIC` on Linux, `CLOCK_UPTIME_RAW` on Apple platforms).
    public var nowNanoseconds: Int64 {
        #if canImport(Darwin)
        Int64(clock_gettime_nsec_np(CLOCK_UPTIME_RAW))
        #else
        readSystemClock(CLOCK_MONOTONIC)
        #endif
    }
}

extension NanosecondClock where Instant == NanosecondInstant {
    /// Suspends until this clock's reading reaches `nanoseconds`: the instant is the number itself.
    public func sleep(untilNanoseconds nanoseconds: Int64) async throws {
        try await sleep(until: NanosecondInstant(nanoseconds: nanoseconds), tolerance: nil)
    }
}
