public import Synchronization

/// A ring of time buckets, each one double-word atomic: the bucket's number (its start time
/// divided by the bucket width) and two counters packed in one word.
///
/// Adding is one compare-exchange: when the slot still holds an older bucket, the same exchange
/// replaces it with the new one, so a bucket is never reset apart from being counted into, and
/// no count lands in a bucket that has been recycled. A reading older than the window (a task
/// that read the clock, then stalled for a whole window) is dropped.
///
/// Each counter has half a word (32 bits on 64-bit platforms) and saturates rather than overflow
/// into its neighbour.
@usableFromInline
final class CounterRing: @unchecked Sendable {  // the slots are atomics, allocated once
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<WordPair>>
    @usableFromInline let count: Int
    @usableFromInline let width: Int64

    /// The bits of one counter.
    @usableFromInline static var half: Int { UInt.bitWidth / 2 }
    /// The largest value of one counter.
    @usableFromInline static var counterMax: UInt { (1 << UInt(half)) - 1 }

    /// Creates `count` empty buckets of `width` nanoseconds each, at the clock reading `now`.
    init(count: Int, width: Int64, now: Int64) {
        self.count = count
        self.width = width
        slots = .allocate(capacity: count)
        // Empty buckets that have already left the window.
        let past = Self.bucket(at: now, width: width) &- UInt(count)
        for index in 0 ..< count {
            (slots + index).initialize(to: Atomic(WordPair(first: past, second: 0)))
        }
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// The number of the bucket holding `now` (floor division: negative readings are fine).
    @inlinable
    func bucket(at now: Int64) -> UInt {
        Self.bucket(at: now, width: width)
    }

    @inlinable
    static func bucket(at now: Int64, width: Int64) -> UInt {
        let (quotient, remainder) = now.quotientAndRemainder(dividingBy: width)
        return UInt(truncatingIfNeeded: remainder < 0 ? quotient - 1 : quotient)
    }

    /// Adds `first` and `second` to the bucket holding `now`.
    @inlinable
    func add(first: UInt, second: UInt, at now: Int64) {
        let first = min(first, Self.counterMax)
        let second = min(second, Self.counterMax)
        let bucket = bucket(at: now)
        let slot = slots + Int(bucket % UInt(count))
        let add = first << UInt(Self.half) | second
        var current = slot.pointee.load(ordering: .relaxed)
        while true {
            let desired: WordPair
            if current.first == bucket {
                let (high, low) = (current.second >> UInt(Self.half), current.second & Self.counterMax)
                guard high &+ first <= Self.counterMax, low &+ second <= Self.counterMax else { return }  // saturated
                desired = WordPair(first: bucket, second: current.second &+ add)
            } else if Int(bitPattern: bucket &- current.first) > 0 {
                desired = WordPair(first: bucket, second: add)  // the slot's bucket has left the window
            } else {
                return  // this reading is older than the slot's bucket: outside the window
            }
            let (exchanged, original) = slot.pointee.compareExchange(
                expected: current, desired: desired, successOrdering: .relaxed, failureOrdering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }

    /// Empties every bucket, at the clock reading `now`. A record racing the reset may survive it.
    func reset(at now: Int64) {
        let past = bucket(at: now) &- UInt(count)
        for index in 0 ..< count {
            (slots + index).pointee.store(WordPair(first: past, second: 0), ordering: .relaxed)
        }
    }

    /// The sums of both counters over the buckets of the window ending with the one holding `now`
    /// (that one included, though it has only begun).
    func sums(at now: Int64) -> (first: Int, second: Int) {
        let newest = bucket(at: now)
        var first = 0
        var second = 0
        for index in 0 ..< count {
            let slot = (slots + index).pointee.load(ordering: .relaxed)
            let age = Int(bitPattern: newest &- slot.first)
            guard age >= 0, age < count else { continue }
            first += Int(slot.second >> UInt(Self.half))
            second += Int(slot.second & Self.counterMax)
        }
        return (first, second)
    }
}
