import BulwarkCore

/// A concurrency limit that follows measured latency: the arithmetic of AIMD, Vegas and
/// Gradient2, as a pure value fed one sample per completed call.
///
/// A value knows nothing of clocks or locks: ``AdaptiveBulkhead`` times each call, builds its
/// ``LimitSample`` and calls ``update(_:)`` under the engine's lock, then admits whoever the new
/// limit lets in. The three conformers follow Netflix concurrency-limits (`AIMDLimit`,
/// `VegasLimit`, `Gradient2Limit`) step for step, including where they round; each one's
/// documentation says where it differs.
public protocol AdaptiveLimit: Sendable {
    /// The limit now: how many calls may be in flight.
    var limit: Int { get }

    /// The most the limit can ever become (what a call's cost is checked against).
    var maximumLimit: Int { get }

    /// Moves the limit after one completed call.
    mutating func update(_ sample: LimitSample)
}

/// One completed call, as an adaptive limit sees it.
public struct LimitSample: Sendable, Hashable {
    /// The clock reading at which the call was admitted, in nanoseconds.
    public var startedAt: Int64
    /// How long the call ran, from admission to completion, in nanoseconds (at least 1).
    public var roundTrip: Int64
    /// The calls in flight when this one was admitted, itself included.
    public var inFlight: Int
    /// Whether the call was dropped: it timed out or the dependency refused it for overload.
    public var dropped: Bool

    /// Creates a sample; a round trip below 1 ns counts as 1 ns.
    public init(startedAt: Int64, roundTrip: Int64, inFlight: Int, dropped: Bool) {
        self.startedAt = startedAt
        self.roundTrip = max(1, roundTrip)
        self.inFlight = inFlight
        self.dropped = dropped
    }
}

/// Netflix's `Log10RootIntFunction`: `max(1, ⌊log₁₀ n⌋)` below 1,000, `⌊log₁₀ n⌋` from there.
@usableFromInline
func log10Root(_ value: Int) -> Int {
    guard value >= 1000 else { return value < 1 ? 1 : max(1, Int(log10(Double(value)))) }
    return Int(log10(Double(value)))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Java's `(int) x` for a finite double in int range: truncation toward zero, clamped.
@usableFromInline
func javaInt(_ value: Double) -> Int {
    guard value.isFinite else { return value > 0 ? Int(Int32.max) : Int(Int32.min) }
    return Int(max(Double(Int32.min), min(Double(Int32.max), value.rounded(.towardZero))))
}
