public import Synchronization

/// The counting half of the hotspot detector: a ring of time buckets, each a count-min sketch
/// (`depth` rows of `width` counters), the bucket's total, and a HyperLogLog of its distinct
/// keys, all atomics allocated once.
///
/// Recording is lock-free: `depth` atomic increments, one atomic add to the total, and a register
/// load (a store once in a while) for the distinct count. A bucket is cleared by the first record
/// that finds it holding an older period, under the detector's lock, before its number is
/// published; a record racing the clear may be lost or counted in the new period (at most the
/// records of that instant).
///
/// Estimates are Count-Mean-Min (Deng and Rafiei, 2007): for each row, the key's counter over the
/// window minus the row's average noise, `(N − c) / (width − 1)`; the lower median over rows (so a
/// key sharing counters with a hot key in up to half the rows is not lifted), capped by the plain
/// count-min. The distinct count is HyperLogLog
/// with 1,024 registers (a standard error of 3.25 %) and linear counting while sparse.
@usableFromInline
final class SketchRing: @unchecked Sendable {  // every field is an atomic, or set once
    @usableFromInline let buckets: Int
    @usableFromInline let depth: Int
    @usableFromInline let width: Int
    @usableFromInline let bucketWidth: Int64
    @usableFromInline static let registers = 1024
    @usableFromInline let counters: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let totals: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let hll: UnsafeMutablePointer<Atomic<UInt8>>
    @usableFromInline let numbers: UnsafeMutablePointer<Atomic<Int64>>

    init(buckets: Int, depth: Int, width: Int, bucketWidth: Int64, now: Int64) {
        self.buckets = buckets
        self.depth = depth
        self.width = width
        self.bucketWidth = bucketWidth
        counters = .allocate(capacity: buckets * depth * width)
        for index in 0 ..< buckets * depth * width { (counters + index).initialize(to: Atomic(0)) }
        totals = .allocate(capacity: buckets)
        numbers = .allocate(capacity: buckets)
        let past = now.dividedRoundingDown(by: bucketWidth) - Int64(buckets)
        for index in 0 ..< buckets {
            (totals + index).initialize(to: Atomic(0))
            (numbers + index).initialize(to: Atomic(past))
        }
        hll = .allocate(capacity: buckets * Self.registers)
        for index in 0 ..< buckets * Self.registers { (hll + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counters.deinitialize(count: buckets * depth * width)
        counters.deallocate()
        totals.deinitialize(count: buckets)
        totals.deallocate()
        numbers.deinitialize(count: buckets)
        numbers.deallocate()
        hll.deinitialize(count: buckets * Self.registers)
        hll.deallocate()
    }

    /// The bytes the ring holds.
    var memory: Int { buckets * (depth * width * 4 + 8 + 8 + Self.registers) }

    /// The number of the bucket holding `now`, and its slot in the ring.
    @inlinable @inline(__always)
    func bucket(at now: Int64) -> (number: Int64, slot: Int) {
        let number = now.dividedRoundingDown(by: bucketWidth)
        return (number, Int(UInt64(bitPattern: number) % UInt64(buckets)))
    }

    /// The bucket `slot` holds now.
    @inlinable @inline(__always)
    func held(_ slot: Int) -> Int64 {
        (numbers + slot).pointee.load(ordering: .acquiring)
    }

    /// A key's hash, mixed to 64 well-spread bits (SplitMix64's finaliser): `hashValue` is only 32
    /// bits on 32-bit platforms, and the sketch takes its rows' counters and its HyperLogLog
    /// register from different bits.
    @inlinable @inline(__always)
    static func mix(_ hashValue: Int) -> UInt64 {
        SplitMix64.mix(UInt64(truncatingIfNeeded: UInt(bitPattern: hashValue)) &+ 0x9E37_79B9_7F4A_7C15)
    }

    /// Clears `slot` for the bucket `number` (called under the detector's lock, once per period);
    /// returns whether it did (a racing record may have done it first).
    @discardableResult
    func clear(_ slot: Int, for number: Int64) -> Bool {
        guard (numbers + slot).pointee.load(ordering: .relaxed) < number else { return false }
        let row = counters + slot * depth * width
        for index in 0 ..< depth * width { (row + index).pointee.store(0, ordering: .relaxed) }
        let registers = hll + slot * Self.registers
        for index in 0 ..< Self.registers { (registers + index).pointee.store(0, ordering: .relaxed) }
        (totals + slot).pointee.store(0, ordering: .relaxed)
        (numbers + slot).pointee.store(number, ordering: .releasing)
        return true
    }

    /// Counts `count` for the key of hash `hash` in `slot`; returns the key's count-min in that
    /// bucket after the increment, and the bucket's total.
    @inlinable @inline(__always)
    func add(hash: UInt64, count: UInt32, slot: Int) -> (minimum: UInt32, total: UInt64) {
        let base = counters + slot * depth * width
        var minimum = UInt32.max
        for row in 0 ..< depth {
            let cell = base + row * width + index(hash: hash, row: row)
            minimum = min(minimum, cell.pointee.wrappingAdd(count, ordering: .relaxed).newValue)
        }
        let total = (totals + slot).pointee.wrappingAdd(UInt64(count), ordering: .relaxed).newValue
        let register = hll + slot * Self.registers + Int(hash >> 54)
        let rank = UInt8(((hash << 10) | (1 << 9)).leadingZeroBitCount + 1)
        var current = register.pointee.load(ordering: .relaxed)
        while rank > current {
            let (exchanged, original) = register.pointee.compareExchange(
                expected: current, desired: rank, successOrdering: .relaxed, failureOrdering: .relaxed
            )
            if exchanged { break }
            current = original
        }
        return (minimum, total)
    }

    /// The counter of `row` for a hash: the top bits of the hash mixed with the row's own odd
    /// multiplier, so that two keys sharing a counter in one row are no likelier to share one in
    /// another (double hashing would make whole columns collide together).
    @inlinable @inline(__always)
    func index(hash: UInt64, row: Int) -> Int {
        let mixed = (hash ^ (hash >> 29)) &* Self.multipliers[row]
        return Int(truncatingIfNeeded: mixed >> UInt64(64 - width.trailingZeroBitCount))
    }

    /// One odd constant per row (the first 16 of a SplitMix64 sequence, made odd).
    @usableFromInline static let multipliers: [UInt64] = {
        var random = SplitMix64(seed: 0x5EED)
        return (0 ..< 16).map { _ in random.next() | 1 }
    }()

    /// The slots of the buckets in the window ending with the one holding `now`.
    func window(at now: Int64) -> [Int] {
        let newest = now.dividedRoundingDown(by: bucketWidth)
        return (0 ..< buckets).filter { slot in
            let age = newest - (numbers + slot).pointee.load(ordering: .acquiring)
            return age >= 0 && age < Int64(buckets)
        }
    }

    /// The total count over `slots`.
    func total(_ slots: [Int]) -> UInt64 {
        slots.reduce(0) { $0 + (totals + $1).pointee.load(ordering: .relaxed) }
    }

    /// The Count-Mean-Min estimate of a key over `slots`, whose total is `total`.
    func estimate(hash: UInt64, slots: [Int], total: UInt64) -> Int {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: depth) { buffer in
            var debiased = buffer
            var minimum = Int.max
            for row in 0 ..< depth {
                let column = index(hash: hash, row: row)
                var count = 0
                for slot in slots {
                    count += Int((counters + slot * depth * width + row * width + column).pointee.load(ordering: .relaxed))
                }
                minimum = min(minimum, count)
                debiased[row] = Double(count) - Double(Int(total) - count) / Double(width - 1)
            }
            debiased.sort()
            // The lower median: a key sharing a counter with a hot one in half the rows is not lifted.
            let median = debiased[(depth - 1) / 2]
            return max(0, min(minimum, Int(median.rounded())))
        }
    }

    /// The HyperLogLog estimate of the distinct keys over `slots`.
    func distinct(_ slots: [Int]) -> Double {
        let m = Double(Self.registers)
        var harmonic = 0.0
        var zeros = 0
        for register in 0 ..< Self.registers {
            let rank = slots.reduce(UInt8(0)) { max($0, (hll + $1 * Self.registers + register).pointee.load(ordering: .relaxed)) }
            if rank == 0 { zeros += 1 }
            harmonic += 1 / Double(1 << UInt64(rank))
        }
        let raw = 0.7213 / (1 + 1.079 / m) * m * m / harmonic
        if raw <= 2.5 * m, zeros > 0 { return m * log(m / Double(zeros)) }
        return raw
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
