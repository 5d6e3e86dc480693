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
