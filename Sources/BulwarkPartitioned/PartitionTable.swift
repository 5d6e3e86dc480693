/// An open-addressing hash table of partitions: each slot holds a key's hash, the key and its
/// value side by side, so a lookup reads one slot (usually one cache line) after hashing the key
/// once with Swift's seeded hash (adversarial keys cannot make it degrade).
///
/// Linear probing in a power-of-two capacity kept at most three quarters full; removal shifts the
/// following run back, so there are no tombstones and every operation stays O(1) on average. Slots
/// are walked in order for sweeping and picked at random for eviction samples.
@usableFromInline
final class PartitionTable<Key: Hashable, Value>: @unchecked Sendable {  // only used under its shard's lock
    /// The layout of one slot; only `hash` is initialized in an empty one (0 = empty).
    @usableFromInline
    struct Slot {
        @usableFromInline var hash: Int
        @usableFromInline var key: Key
        @usableFromInline var value: Value
    }

    // Only ever touched under the shard's lock: no dynamic exclusivity checks needed.
    @exclusivity(unchecked) @usableFromInline var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) @usableFromInline var capacity: Int
    @exclusivity(unchecked) @usableFromInline var count = 0
    /// Where the key and the value sit in a slot (computed once: a key path is costly to read).
    @usableFromInline let keyOffset: Int
    @usableFromInline let valueOffset: Int

    @inlinable static var stride: Int { MemoryLayout<Slot>.stride }

    @usableFromInline
    init(capacity: Int = 16) {
        self.capacity = capacity
        keyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
        valueOffset = MemoryLayout<Slot>.offset(of: \Slot.value)!
        base = Self.allocate(capacity)
    }

    deinit {
        for slot in 0 ..< capacity where hash(at: slot) != 0 {
            key(at: slot).deinitialize(count: 1)
            value(at: slot).deinitialize(count: 1)
        }
        base.deallocate()
    }

    @usableFromInline
    static func allocate(_ capacity: Int) -> UnsafeMutableRawPointer {
        let base = UnsafeMutableRawPointer.allocate(byteCount: capacity * stride, alignment: MemoryLayout<Slot>.alignment)
        for slot in 0 ..< capacity { base.storeBytes(of: 0, toByteOffset: slot * stride, as: Int.self) }
        return base
    }

    /// The hash of `key` as the table stores it: never 0, which marks an empty slot.
    @inlinable
    static func hash(of key: Key) -> Int {
        let hash = key.hashValue
        return hash == 0 ? 1 : hash
    }

    @inlinable func hash(at slot: Int) -> Int { base.load(fromByteOffset: slot &* Self.stride, as: Int.self) }
    @inlinable func key(at slot: Int) -> UnsafeMutablePointer<Key> {
        (base + (slot &* Self.stride &+ keyOffset)).assumingMemoryBound(to: Key.self)
    }
    @inlinable func value(at slot: Int) -> UnsafeMutablePointer<Value> {
        (base + (slot &* Self.stride &+ valueOffset)).assumingMemoryBound(to: Value.self)
    }

    /// The slot holding `key` (whose stored hash is `hash`), if any.
    @inlinable
    func find(_ key: Key, hash: Int) -> Int? {
        let mask = capacity &- 1
        var slot = hash & mask
        while true {
            let stored = self.hash(at: slot)
            if stored == 0 { return nil }
            if stored == hash, self.key(at: slot).pointee == key { return slot }
            slot = (slot &+ 1) & mask
        }
    }

    /// Adds `key` (absent) with `value`; grows first if the table would pass three quarters full.
    @usableFromInline
    func insert(_ key: Key, hash: Int, value: Value) {
        if (count + 1) * 4 > capacity * 3 { grow() }
        let mask = capacity - 1
        var slot = hash & mask
        while self.hash(at: slot) != 0 { slot = (slot + 1) & mask }
        base.storeBytes(of: hash, toByteOffset: slot * Self.stride, as: Int.self)
        self.key(at: slot).initialize(to: key)
        self.value(at: slot).initialize(to: value)
        count += 1
    }

    /// Empties `slot` and shifts back the entries after it that would otherwise be cut off from
    /// their home slot. Returns whether an entry from after `slot` moved into it (a sweep then
    /// examines `slot` again).
    @usableFromInline
    @discardableResult
    func remove(at slot: Int) -> Bool {
        let mask = capacity - 1
        key(at: slot).deinitialize(count: 1)
        value(at: slot).deinitialize(count: 1)
        var hole = slot
        var next = (slot + 1) & mask
        var movedIntoSlot = false
        while true {
            let stored = hash(at: next)
            if stored == 0 { break }
            let home = stored & mask
            // The entry at `next` may fill the hole if its home is not in (hole, next].
            if (next - home) & mask >= (next - hole) & mask {
                base.storeBytes(of: stored, toByteOffset: hole * Self.stride, as: Int.self)
                key(at: hole).moveInitialize(from: key(at: next), count: 1)
                value(at: hole).moveInitialize(from: value(at: next), count: 1)
                if hole == slot { movedIntoSlot = true }
                hole = next
            }
            next = (next + 1) & mask
        }
        base.storeBytes(of: 0, toByteOffset: hole * Self.stride, as: Int.self)
        count -= 1
        return movedIntoSlot
    }

    /// Doubles the capacity, rehashing every entry (their hashes are stored: no key is hashed again).
    @usableFromInline
    func grow() {
        let old = base
        let oldCapacity = capacity
        capacity *= 2
        base = Self.allocate(capacity)
        let mask = capacity - 1
        for slot in 0 ..< oldCapacity {
            let hash = old.load(fromByteOffset: slot * Self.stride, as: Int.self)
            guard hash != 0 else { continue }
            var target = hash & mask
            while self.hash(at: target) != 0 { target = (target + 1) & mask }
            base.storeBytes(of: hash, toByteOffset: target * Self.stride, as: Int.self)
            key(at: target).moveInitialize(from: (old + (slot * Self.stride + keyOffset)).assumingMemoryBound(to: Key.self), count: 1)
            value(at: target).moveInitialize(from: (old + (slot * Self.stride + valueOffset)).assumingMemoryBound(to: Value.self), count: 1)
        }
        old.deallocate()
    }
}
