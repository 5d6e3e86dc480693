/// An open-addressing hash table of partitions: each slot holds the key, its value and 32 bits of
/// the key's hash side by side, so a lookup reads one slot (usually one cache line) after hashing
/// the key once with Swift's seeded hash (adversarial keys cannot make it degrade).
///
/// Linear probing, kept at most four fifths full; the capacity grows by half (not doubles), and a
/// hash is mapped onto it by multiplying (`tag × capacity >> 32`), so any capacity works and the
/// table stays between 53 % and 80 % full: a slot of 32 bytes (an `Int` key and a token bucket's
/// state) costs 40 to 60 bytes per key. The 32 bits of hash ride in the value's padding where it
/// has some (a partition's state and group index leave 4 bytes). Removal shifts the following run
/// back, so there are no tombstones and every operation stays O(1) on average. Slots are walked in
/// order for sweeping and picked at random for eviction samples.
@usableFromInline
final class PartitionTable<Key: Hashable, Value>: @unchecked Sendable {  // only used under its shard's lock
    /// The layout of one slot; only `tag` is initialized in an empty one (0 = empty).
    @usableFromInline
    struct Slot {
        @usableFromInline var value: Value
        @usableFromInline var tag: UInt32
        @usableFromInline var key: Key
    }

    // Only ever touched under the shard's lock: no dynamic exclusivity checks needed.
    @exclusivity(unchecked) @usableFromInline var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) @usableFromInline var capacity: Int
    @exclusivity(unchecked) @usableFromInline var count = 0
    /// Where the key and the tag sit in a slot (computed once: a key path is costly to read).
    @usableFromInline let keyOffset: Int
    @usableFromInline let tagOffset: Int

    @inlinable static var stride: Int { MemoryLayout<Slot>.stride }

    @usableFromInline
    init(capacity: Int = 16) {
        self.capacity = capacity
        keyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
        tagOffset = MemoryLayout<Slot>.offset(of: \Slot.tag)!
        base = Self.allocate(capacity, tagOffset: tagOffset)
    }

    deinit {
        for slot in 0 ..< capacity where isOccupied(slot) {
            key(at: slot).deinitialize(count: 1)
            value(at: slot).deinitialize(count: 1)
        }
        base.deallocate()
    }

    @usableFromInline
    static func allocate(_ capacity: Int, tagOffset: Int) -> UnsafeMutableRawPointer {
        let base = UnsafeMutableRawPointer.allocate(byteCount: capacity * stride, alignment: MemoryLayout<Slot>.alignment)
        for slot in 0 ..< capacity { base.storeBytes(of: 0, toByteOffset: slot * stride + tagOffset, as: UInt32.self) }
        return base
    }

    /// The hash of `key` as the table is given it (the shard is chosen by its high bits).
    @inlinable
    static func hash(of key: Key) -> Int {
        key.hashValue
    }

    /// The 32 bits of `hash` a slot stores: its low half, never 0 (which marks an empty slot).
    @inlinable
    static func tag(of hash: Int) -> UInt32 {
        let tag = UInt32(truncatingIfNeeded: hash)
        return tag == 0 ? 1 : tag
    }

    /// The slot where a key of tag `tag` belongs in a table of `capacity` slots.
    @inlinable
    static func home(of tag: UInt32, capacity: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(tag) &* UInt64(truncatingIfNeeded: capacity)) >> 32)
    }

    @inlinable func tag(at slot: Int) -> UInt32 { base.load(fromByteOffset: slot &* Self.stride &+ tagOffset, as: UInt32.self) }
    @inlinable func isOccupied(_ slot: Int) -> Bool { tag(at: slot) != 0 }
    @inlinable func key(at slot: Int) -> UnsafeMutablePointer<Key> {
        (base + (slot &* Self.stride &+ keyOffset)).assumingMemoryBound(to: Key.self)
    }
    @inlinable func value(at slot: Int) -> UnsafeMutablePointer<Value> {
        (base + slot &* Self.stride).assumingMemoryBound(to: Value.self)
    }
    /// The slot after `slot`, wrapping around.
    @inlinable func next(_ slot: Int) -> Int {
        let next = slot &+ 1
        return next == capacity ? 0 : next
    }

    /// The slot holding `key` (whose hash is `hash`), if any.
    @inlinable
    func find(_ key: Key, hash: Int) -> Int? {
        let tag = Self.tag(of: hash)
        var slot = Self.home(of: tag, capacity: capacity)
        while true {
            let stored = self.tag(at: slot)
            if stored == 0 { return nil }
            if stored == tag, self.key(at: slot).pointee == key { return slot }
            slot = next(slot)
        }
    }

    /// Adds `key` (absent) with `value`; grows first if the table would pass four fifths full.
    @usableFromInline
    func insert(_ key: Key, hash: Int, value: Value) {
        if (count + 1) * 5 > capacity * 4 { grow() }
        let tag = Self.tag(of: hash)
        var slot = Self.home(of: tag, capacity: capacity)
        while isOccupied(slot) { slot = next(slot) }
        base.storeBytes(of: tag, toByteOffset: slot * Self.stride + tagOffset, as: UInt32.self)
        self.key(at: slot).initialize(to: key)
        self.value(at: slot).initialize(to: value)
        count += 1
    }

    /// How many steps forward from `from` it takes to reach `to`, wrapping around.
    @inlinable
    func distance(from: Int, to: Int) -> Int {
        to >= from ? to - from : to + capacity - from
    }

    /// Empties `slot` and shifts back the entries after it that would otherwise be cut off from
    /// their home slot. Returns whether an entry from after `slot` moved into it (a sweep then
    /// examines `slot` again).
    @usableFromInline
    @discardableResult
    func remove(at slot: Int) -> Bool {
        key(at: slot).deinitialize(count: 1)
        value(at: slot).deinitialize(count: 1)
        var hole = slot
        var next = self.next(slot)
        var movedIntoSlot = false
        while true {
            let stored = tag(at: next)
            if stored == 0 { break }
            let home = Self.home(of: stored, capacity: capacity)
            // The entry at `next` may fill the hole if its home is not in (hole, next].
            if distance(from: home, to: next) >= distance(from: hole, to: next) {
                base.storeBytes(of: stored, toByteOffset: hole * Self.stride + tagOffset, as: UInt32.self)
                key(at: hole).moveInitialize(from: key(at: next), count: 1)
                value(at: hole).moveInitialize(from: value(at: next), count: 1)
                if hole == slot { movedIntoSlot = true }
                hole = next
            }
            next = self.next(next)
        }
        base.storeBytes(of: 0, toByteOffset: hole * Self.stride + tagOffset, as: UInt32.self)
        count -= 1
        return movedIntoSlot
    }

    /// Grows the capacity by half, placing every entry again (by its stored tag: no key is hashed
    /// again).
    @usableFromInline
    func grow() {
        let old = base
        let oldCapacity = capacity
        capacity += capacity / 2
        base = Self.allocate(capacity, tagOffset: tagOffset)
        for slot in 0 ..< oldCapacity {
            let tag = old.load(fromByteOffset: slot * Self.stride + tagOffset, as: UInt32.self)
            guard tag != 0 else { continue }
            var target = Self.home(of: tag, capacity: capacity)
            while isOccupied(target) { target = next(target) }
            base.storeBytes(of: tag, toByteOffset: target * Self.stride + tagOffset, as: UInt32.self)
            key(at: target).moveInitialize(from: (old + (slot * Self.stride + keyOffset)).assumingMemoryBound(to: Key.self), count: 1)
            value(at: target).moveInitialize(from: (old + slot * Self.stride).assumingMemoryBound(to: Value.self), count: 1)
        }
        old.deallocate()
    }
}
