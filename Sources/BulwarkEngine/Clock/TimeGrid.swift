public import BulwarkCore

/// Slots of one length aligned to an epoch: the windows of a fixed window, the segments of a
/// segmented one. Slot `k` is `[epoch + k × length, epoch + (k + 1) × length)`, for every `k`
/// (before the epoch too).
@usableFromInline
package struct TimeGrid: Sendable, Hashable {
    /// A clock reading at which a slot starts.
    @usableFromInline package let epoch: Int64
    /// The length of a slot, in nanoseconds (positive).
    @usableFromInline package let length: Int64

    /// Creates a grid of `length`-nanosecond slots, one starting at `epoch`.
    @inlinable
    package init(epoch: Int64, length: Int64) {
        self.epoch = epoch
        self.length = length
    }

    /// The farthest, in nanoseconds, a reading may be from zero and from the epoch: 2⁶² ns, about
    /// 146 years. Within it, `time − epoch` and every slot start the grid computes stay exact for
    /// another 146 years of readings; beyond it they would saturate and give wrong answers.
    package static let horizon: Int64 = 1 << 62

    /// Creates the grid of `length`-nanosecond slots aligned to `epoch` (the reading `now` when
    /// `nil`), refusing an epoch or a reading that would make its arithmetic saturate.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming `epochNanoseconds` when
    ///   the epoch is more than `horizon` from `now`, or `clock` when `now` itself is more than
    ///   `horizon` from zero (a clock reading near `Int64.max`).
    package static func checked(epoch: Int64?, length: Int64, now: Int64) throws(BulwarkError) -> TimeGrid {
        guard now.magnitude <= UInt64(horizon) else {
            throw .invalidConfiguration(
                field: "clock",
                rule: "readings must be within ±2^62 ns (about 146 years) of zero for windows to stay exact (got \(now) ns)"
            )
        }
        if let epoch {
            let (distance, overflow) = now.subtractingReportingOverflow(epoch)
            guard !overflow, distance.magnitude <= UInt64(horizon) else {
                throw .invalidConfiguration(
                    field: "epochNanoseconds",
                    rule: "must be within 2^62 ns (about 146 years) of the clock's reading \(now) (got \(epoch))"
                )
            }
        }
        return TimeGrid(epoch: epoch ?? now, length: length)
    }

    /// The index of the slot holding the reading `time`.
    @inlinable
    package func index(at time: Int64) -> Int64 {
        time.subtractingSaturating(epoch).dividedRoundingDown(by: length)
    }

    /// The clock reading at which slot `index` starts.
    @inlinable
    package func start(of index: Int64) -> Int64 {
        epoch.addingSaturating(index.multipliedSaturating(by: length))
    }
}
