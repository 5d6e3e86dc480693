/// An instant on a nanosecond time line: the `Instant` of `CachedClock` and of the test kit's
/// `ManualClock`.
///
/// It is a plain count of nanoseconds from the clock's origin. Instants of two different clocks
/// share this type but not their origin: compare instants of one clock only.
public struct NanosecondInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    /// Creates the instant `nanoseconds` after the clock's origin.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The instant `duration` later (or earlier, when negative), rounded down to whole nanoseconds
    /// and saturating at the ends of the time line.
    public func advanced(by duration: Duration) -> NanosecondInstant {
        NanosecondInstant(nanoseconds: nanoseconds.addingSaturating(duration.saturatingNanoseconds))
    }

    /// The duration from this instant to `other`.
    public func duration(to other: NanosecondInstant) -> Duration {
        .nanoseconds(other.nanoseconds) - .nanoseconds(nanoseconds)
    }

    /// Whether `lhs` comes before `rhs`.
    public static func < (lhs: NanosecondInstant, rhs: NanosecondInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant as `"<n>ns"`.
    public var description: String { "\(nanoseconds)ns" }
}
