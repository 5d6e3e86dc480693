extension Duration {
    /// This duration in whole nanoseconds, or `nil` when it has a fraction of a nanosecond or does
    /// not fit in an `Int64` (about 292 years).
    ///
    /// Configuration uses this to reject durations Bulwark cannot represent exactly; it is never
    /// used on a hot path (it divides a 128-bit number).
    public var exactNanoseconds: Int64? {
        let (seconds, attoseconds) = components
        guard attoseconds % 1_000_000_000 == 0 else { return nil }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? nil : sum
    }

    /// This duration in nanoseconds, rounded toward zero and clamped to the `Int64` range.
    public var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingSaturating(attoseconds / 1_000_000_000)
    }
}

extension Int64 {
    /// `self + other`, clamped to the `Int64` range instead of overflowing.
    @inlinable
    package func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if !overflow { return sum }
        return other < 0 ? .min : .max
    }

    /// `self − other`, clamped to the `Int64` range instead of overflowing.
    @inlinable
    package func subtractingSaturating(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        if !overflow { return difference }
        return other < 0 ? .max : .min
    }

    /// `self × other`, clamped to the `Int64` range instead of overflowing.
    @inlinable
    package func multipliedSaturating(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        if !overflow { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// `self ÷ divisor`, rounded up, for a non-negative `self` and a positive `divisor`.
    @inlinable
    package func dividedRoundingUp(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder > 0 ? quotient + 1 : quotient
    }
}

/// The greatest common divisor of two positive integers.
package func greatestCommonDivisor(_ a: Int64, _ b: Int64) -> Int64 {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
