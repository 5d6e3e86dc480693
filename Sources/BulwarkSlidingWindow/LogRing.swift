/// The admitted `(time, cost)` pairs of a sliding-window log, oldest first, in a ring that grows
/// by doubling up to a fixed bound and then never allocates again.
///
/// Times never decrease along the ring and each time appears once (costs admitted at the same
/// reading add up), so an entry is found by binary search. Two rings are equal when they hold the
/// same entries in the same order, wherever those sit in storage.
public struct LogRing: Sendable, Hashable {
    @usableFromInline struct Entry: Sendable, Hashable {
        @usableFromInline var time: Int64
        @usableFromInline var cost: Int64

        @inlinable
        init(time: Int64, cost: Int64) {
            self.time = time
            self.cost = cost
        }
    }

    @usableFromInline var storage: [Entry] = []
    @usableFromInline var head = 0
    /// How many entries the ring holds.
    @usableFromInline var storedCount = 0
    /// How many entries the ring holds.
    public var count: Int { storedCount }

    /// An empty ring; it allocates on its first entry.
    @inlinable
    public init() {}

    @inlinable
    func slot(_ index: Int) -> Int {
        let slot = head &+ index
        return slot >= storage.count ? slot &- storage.count : slot
    }

    /// The entry `index` places after the oldest.
    @inlinable
    subscript(index: Int) -> Entry {
        get { storage[slot(index)] }
        set { storage[slot(index)] = newValue }
    }

    /// Logs `cost` at `time` (not earlier than the newest entry), in at most `bound` entries.
    @inlinable @inline(__always)
    mutating func append(time: Int64, cost: Int64, bound: Int) {
        if storedCount > 0 {
            let newest = slot(storedCount &- 1)
            let merged = storage.withUnsafeMutableBufferPointer { entries -> Bool in
                guard entries[newest].time == time else { return false }
                entries[newest].cost &+= cost
                return true
            }
            if merged { return }
        }
        if storedCount == storage.count { grow(bound: bound) }
        let free = slot(storedCount)
        storage.withUnsafeMutableBufferPointer { $0[free] = Entry(time: time, cost: cost) }
        storedCount &+= 1
    }

    /// Forgets the entries logged at `oldest` or earlier, and returns the sum of their costs.
    @inlinable @inline(__always)
    mutating func removeEntries(atOrBefore oldest: Int64) -> Int64 {
        var removed: Int64 = 0
        var head = self.head
        var count = storedCount
        storage.withUnsafeBufferPointer { entries in
            while count > 0, entries[head].time <= oldest {
                removed &+= entries[head].cost
                head = head &+ 1 == entries.count ? 0 : head &+ 1
                count &-= 1
            }
        }
        self.head = count == 0 ? 0 : head
        storedCount = count
        return removed
    }

    /// Removes the entry at `index`, moving the newer ones back by one.
    mutating func remove(at index: Int) {
        for position in index ..< count &- 1 {
            self[position] = self[position &+ 1]
        }
        storedCount &-= 1
        if count == 0 { head = 0 }
    }

    /// The index of the entry logged at `time`, if there is one.
    func index(of time: Int64) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let middle = (low &+ high) / 2
            if self[middle].time < time { low = middle &+ 1 } else { high = middle }
        }
        return low < count && self[low].time == time ? low : nil
    }

    /// Whether both rings hold the same entries.
    public static func == (lhs: LogRing, rhs: LogRing) -> Bool {
        lhs.count == rhs.count && (0 ..< lhs.count).allSatisfy { lhs[$0] == rhs[$0] }
    }

    /// Hashes the entries.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for index in 0 ..< count { hasher.combine(self[index]) }
    }

    /// Doubles the storage (at least 16 entries, at most `bound`), oldest entry first.
    @usableFromInline
    mutating func grow(bound: Int) {
        let capacity = Swift.min(Swift.max(16, storage.count * 2), Swift.max(bound, storage.count + 1))
        var grown: [Entry] = []
        grown.reserveCapacity(capacity)
        for index in 0 ..< count { grown.append(self[index]) }
        grown.append(contentsOf: repeatElement(Entry(time: 0, cost: 0), count: capacity - count))
        storage = grown
        head = 0
    }
}
