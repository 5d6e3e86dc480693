/// The latest time by which a call must be admitted, as a point on the clock of the policy that
/// waits.
///
/// A deadline is either relative (``after(_:)``: resolved against the clock when the call enters
/// Bulwark) or absolute (``at(nanoseconds:)`` or ``at(_:)``: a reading of a ``NanosecondClock``).
/// A policy that runs the call more than once (retry, hedging) or in steps (a chain) resolves a
/// relative deadline once, when the call enters it, and hands the absolute one on, so every attempt
/// and every inner policy shares one budget; a single policy resolves it when it reads it.
///
///     let decision = try await limiter.acquire(cost: 1, deadline: .after(.seconds(5)))
public struct Deadline: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline
    enum Storage: Sendable, Hashable {
        case after(Int64)
        case at(Int64)
    }

    @usableFromInline
    let storage: Storage

    /// A deadline `duration` after the moment the call enters Bulwark. A negative duration is
    /// treated as zero: already due.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(storage: .after(max(0, duration.saturatingNanoseconds)))
    }

    /// A deadline at `nanoseconds` on the waiting policy's clock (see
    /// ``NanosecondClock/nowNanoseconds``).
    public static func at(nanoseconds: Int64) -> Deadline {
        Deadline(storage: .at(nanoseconds))
    }

    /// A deadline at an instant of a `CachedClock` or a `ManualClock`.
    public static func at(_ instant: NanosecondInstant) -> Deadline {
        Deadline(storage: .at(instant.nanoseconds))
    }

    /// The absolute deadline in nanoseconds, given the clock reading `now` at which it is resolved.
    @inlinable
    public func nanoseconds(resolvedAt now: Int64) -> Int64 {
        switch storage {
        case .after(let delay): now.addingSaturating(delay)
        case .at(let nanoseconds): nanoseconds
        }
    }

    /// This deadline made absolute at the clock reading `now`.
    public func resolved(at now: Int64) -> Deadline {
        .at(nanoseconds: nanoseconds(resolvedAt: now))
    }

    /// `"after <n>ns"` or `"at <n>ns"`.
    public var description: String {
        switch storage {
        case .after(let delay): "after \(delay)ns"
        case .at(let nanoseconds): "at \(nanoseconds)ns"
        }
    }
}
