/// Saturating and rounding integer arithmetic on nanosecond counts, shared by every module that
/// does exact time arithmetic.
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

extension Int64 {
    /// `self ÷ divisor`, rounded toward negative infinity, for a positive `divisor`.
    @inlinable
    package func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
