public import Synchronization

/// The counting half of the hotspot detector: a ring of time buckets, each a count-min sketch
/// (`depth` rows of `width` counters), the bucket's total, and a HyperLogLog of its distinct
/// keys, all atomics allocated once.
///
/// The counters are laid out cell by cell: for each row and column, one counter per bucket, side
/// by side, so a key's window count in a row is the sum of a few adjacent words.
///
/// Recording is lock-free: `depth` atomic increments, one atomic add to the total, and a register
/// load (a store once in a while) for the distinct count; the record then reads the key's window
/// count from the cells it just incremented. A bucket is cleared by the first record that finds it
/// holding an older period, under the detector's lock, before its number is published; a record
/// racing the clear may be lost or counted in the new period (at most the records of that
/// instant).
///
/// Estimates are plain count-min: for each row, the key's counter summed over the buckets; the
/// smallest over the rows. Every counter a key maps to holds at least that key's count, so the
/// estimate is never below the key's true count, and it exceeds it by at most `e / width` of the
/// window's total with probability at least `1 − e^−depth` (Cormode and Muthukrishnan, 2005).
/// The distinct count is HyperLogLog with 1,024 registers (a standard error of 3.25 %) and linear
/// counting while sparse.
@usableFromInline
final class SketchRing: @unchecked Sendable {  // every field is an atomic, or set once
    @usableFromInline let buckets: Int
    @usableFromInline let depth: Int
    @usableFromInline let width: Int
    @usableFromInline let bucketWidth: Int64
    @usableFromInline static let registers = 1024
    /// `depth × width` cells of `buckets` counters each: cell `(row, column)` starts at
    /// `(row × width + column) × buckets`, and its counter for the bucket in `slot` is `slot` further.
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
        return (number, slot(of: number))
    }

    /// The slot of bucket `number`.
    @inlinable @inline(__always)
    func slot(of number: Int64) -> Int {
        Int(UInt64(bitPattern: number) % UInt64(buckets))
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

    /// Clears `slot` for the bucket `number` (called under the detector's lock); returns whether
    /// it did (a racing record may have done it first).
    @discardableResult
    func clear(_ slot: Int, for number: Int64) -> Bool {
        guard (numbers + slot).pointee.load(ordering: .relaxed) < number else { return false }
        var cell = counters + slot
        for _ in 0 ..< depth * width {
            cell.pointee.store(0, ordering: .relaxed)
            cell += buckets
        }
        let registers = hll + slot * Self.registers
        for index in 0 ..< Self.registers { (registers + index).pointee.store(0, ordering: .relaxed) }
        (totals + slot).pointee.store(0, ordering: .relaxed)
        (numbers + slot).pointee.store(number, ordering: .releasing)
        return true
    }

    /// Clears every slot holding a bucket older than the window that ends with the one holding
    /// `now`, each for the bucket of the window it stands for (called under the detector's lock);
    /// returns whether any was cleared. Afterwards every slot holds a bucket of the window, so the
    /// sum of a cell's counters is a count over the window.
    @discardableResult
    func expire(at now: Int64) -> Bool {
        let newest = now.dividedRoundingDown(by: bucketWidth)
        var cleared = false
        for number in newest - Int64(buckets) + 1 ... newest {
            if clear(slot(of: number), for: number) { cleared = true }
        }
        return cleared
    }

    /// Counts `count` for the key of hash `hash` in `slot`; returns the key's count-min over every
    /// bucket the ring holds, this record included (never below the key's count over the window),
    /// or, as soon as one row's sum is below `level`, that sum (the estimate is below it too).
    ///
    /// The increments are sequentially consistent (free on x86, where every atomic add is), so
    /// that a record that then finds its key watched, and the lock removing that key, cannot miss
    /// each other (the detector re-reads a removed key's counters after the removal).
    @inlinable @inline(__always)
    func add(hash: UInt64, count: UInt32, slot: Int, level: UInt32) -> UInt32 {
        for row in 0 ..< depth {
            let cell = counters + (row &* width &+ index(hash: hash, row: row)) &* buckets
            (cell + slot).pointee.wrappingAdd(count, ordering: .sequentiallyConsistent)
        }
        var minimum = UInt32.max
        for row in 0 ..< depth {
            minimum = min(minimum, sum(counters + (row &* width &+ index(hash: hash, row: row)) &* buckets))
            if minimum < level { break }  // below the level already: no need for the other rows
        }
        (totals + slot).pointee.wrappingAdd(UInt64(count), ordering: .relaxed)
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
        return minimum
    }

    /// The sum of a cell's counters over every bucket (saturating at `UInt32.max`).
    @inlinable @inline(__always)
    func sum(_ cell: UnsafeMutablePointer<Atomic<UInt32>>) -> UInt32 {
        var sum: UInt64 = 0
        for slot in 0 ..< buckets { sum &+= UInt64((cell + slot).pointee.load(ordering: .relaxed)) }
        return UInt32(clamping: sum)
    }

    /// The key's count-min over every bucket the ring holds, read with sequentially consistent
    /// loads (the detector's check after removing a key from its watched set).
    func heldEstimate(hash: UInt64) -> UInt32 {
        var minimum = UInt32.max
        for row in 0 ..< depth {
            let cell = counters + (row * width + index(hash: hash, row: row)) * buckets
            var sum: UInt64 = 0
            for slot in 0 ..< buckets { sum += UInt64((cell + slot).pointee.load(ordering: .sequentiallyConsistent)) }
            minimum = min(minimum, UInt32(clamping: sum))
        }
        return minimum
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

    /// The count-min estimate of a key over `slots`: for each row, its counter summed over the
    /// slots; the smallest over the rows. Never below the key's count in those buckets.
    func estimate(hash: UInt64, slots: [Int]) -> Int {
        var minimum = Int.max
        for row in 0 ..< depth {
            let cell = counters + (row * width + index(hash: hash, row: row)) * buckets
            var count = 0
            for slot in slots { count += Int((cell + slot).pointee.load(ordering: .relaxed)) }
            minimum = min(minimum, count)
        }
        return minimum
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
