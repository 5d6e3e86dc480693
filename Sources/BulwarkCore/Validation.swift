/// The configuration rules several algorithms share, worded the same way everywhere.
package enum Validation {
    /// `value`, if it is at least `minimum`.
    package static func atLeast(_ minimum: Int, _ value: Int, field: String) throws(BulwarkError) -> Int {
        guard value >= minimum else {
            throw .invalidConfiguration(field: field, rule: "must be at least \(minimum) (got \(value))")
        }
        return value
    }

    /// `value` as a limit (a count of units): at least 1 and at most `Int64.max / 8`, so that twice
    /// it (a limit plus its debt) and the sums of a few such counts stay exact.
    package static func limit(_ value: Int, field: String) throws(BulwarkError) -> Int {
        _ = try atLeast(1, value, field: field)
        guard Int64(value) <= Int64.max / 8 else {
            throw .invalidConfiguration(field: field, rule: "must be at most \(Int64.max / 8) (got \(value))")
        }
        return value
    }

    /// `duration` as whole nanoseconds, if it is positive, whole and below about 292 years.
    package static func positiveNanoseconds(_ duration: Duration, field: String) throws(BulwarkError) -> Int64 {
        guard duration > .zero else {
            throw .invalidConfiguration(field: field, rule: "must be positive (got \(duration))")
        }
        guard let nanoseconds = duration.exactNanoseconds else {
            throw .invalidConfiguration(
                field: field, rule: "must be a whole number of nanoseconds below 292 years (got \(duration))"
            )
        }
        return nanoseconds
    }

    /// `window / buckets` in nanoseconds, if the window is positive and whole, `buckets` is in
    /// `1 ... 10_000` and divides it into whole nanoseconds: the bucket width of a sliding window
    /// cut into buckets (the monitors' windows, system protection's).
    package static func bucketWidth(window: Duration, buckets: Int) throws(BulwarkError) -> Int64 {
        let window = try positiveNanoseconds(window, field: "window")
        guard buckets >= 1, buckets <= 10_000 else {
            throw .invalidConfiguration(field: "buckets", rule: "must be between 1 and 10000 (got \(buckets))")
        }
        guard window % Int64(buckets) == 0 else {
            throw .invalidConfiguration(
                field: "buckets", rule: "must divide the window (\(window) ns) into whole nanoseconds (got \(buckets))"
            )
        }
        return window / Int64(buckets)
    }

    /// `count × unit`, if it is at most `Int64.max / 8` (room for sums of a few such products in
    /// exact arithmetic); otherwise an error on `field` saying "`rule` must be at most …" and
    /// showing `got`.
    package static func exactProduct(_ count: Int, _ unit: Int64, field: String, rule: String, got: String) throws(BulwarkError) -> Int64 {
        let (product, overflow) = Int64(count).multipliedReportingOverflow(by: unit)
        guard !overflow, product <= Int64.max / 8 else {
            throw .invalidConfiguration(field: field, rule: "\(rule) must be at most \(Int64.max / 8) for exact arithmetic (got \(got))")
        }
        return product
    }

    /// `rate` per `period` nanoseconds as a reduced fraction: `unitsPerNanosecond / unitsPerPermit`
    /// equals `rate / period`, so time (`× unitsPerNanosecond`) and permits (`× unitsPerPermit`)
    /// share one integer unit and no fraction is ever rounded away.
    package static func reducedRate(_ rate: Int, per period: Int64) -> (unitsPerNanosecond: Int64, unitsPerPermit: Int64) {
        let divisor = greatestCommonDivisor(Int64(rate), period)
        return (Int64(rate) / divisor, period / divisor)
    }
}
