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
