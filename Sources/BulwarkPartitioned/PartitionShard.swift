import BulwarkCore

/// One shard of a partitioned limiter: the states of the keys that hash to it, under one lock.
///
/// Each partition keeps only its algorithm's ``RateLimitAlgorithm/State`` (a few integers) and the
/// index of its group's template; the configuration lives once per group. A partition with
/// waiters is *busy*: its state has moved into an `InMemoryRateLimiter` (the shared engine and its
/// waiting room) until the last waiter leaves. `keys` lists the partitions in no order, so that
/// eviction can sample and sweep them in O(1) per step.
@usableFromInline
struct PartitionShard<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock>: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var state: Algorithm.State
        /// The group's template; `busyFlag` is set while an engine holds the state.
        @usableFromInline var group: UInt32
        /// Where the key sits in `keys`.
        @usableFromInline var slot: UInt32

        @usableFromInline
        init(state: Algorithm.State, group: UInt32, slot: UInt32) {
            self.state = state
            self.group = group
            self.slot = slot
        }

        @inlinable static var busyFlag: UInt32 { 1 << 31 }
        @inlinable var isBusy: Bool { group & Self.busyFlag != 0 }
        @inlinable var template: Int { Int(group & ~Self.busyFlag) }
    }

    /// A partition's waiting room while it has waiters, and how many tasks are using it.
    @usableFromInline
    struct Busy: Sendable {
        @usableFromInline let engine: InMemoryRateLimiter<Algorithm, C>
        @usableFromInline var users: Int

        @usableFromInline
        init(engine: InMemoryRateLimiter<Algorithm, C>, users: Int) {
            self.engine = engine
            self.users = users
        }
    }

    @usableFromInline var entries: [Key: Entry] = [:]
    @usableFromInline var keys: [Key] = []
    @usableFromInline var busy: [Key: Busy] = [:]
    /// Where the incremental sweep resumes.
    @usableFromInline var cursor = 0
    /// A SplitMix64 state for sampling eviction candidates.
    @usableFromInline var seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
    }

    /// Adds a partition (the key must be absent).
    @inlinable
    mutating func insert(_ key: Key, state: Algorithm.State, template: Int) {
        entries[key] = Entry(state: state, group: UInt32(template), slot: UInt32(keys.count))
        keys.append(key)
    }

    /// Removes the partition in `keys[slot]`, moving the last key into its place.
    @inlinable
    mutating func remove(at slot: Int) {
        let key = keys[slot]
        entries[key] = nil
        let last = keys.removeLast()
        if slot < keys.count {
            keys[slot] = last
            entries[last]?.slot = UInt32(slot)
        }
        if cursor > keys.count { cursor = 0 }
    }

    /// A pseudo-random slot in `keys` (which must not be empty).
    @inlinable
    mutating func randomSlot() -> Int {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(keys.count))
    }

    /// Examines up to `count` partitions from the cursor and removes those equivalent to a fresh
    /// state at `now` (never a busy one); returns how many it removed.
    @inlinable
    mutating func sweep(_ count: Int, templates: [Algorithm], at now: Int64) -> Int {
        var removed = 0
        for _ in 0 ..< min(count, keys.count) {
            if cursor >= keys.count { cursor = 0 }
            guard let entry = entries[keys[cursor]] else { cursor += 1; continue }
            if !entry.isBusy, Self.isFresh(entry, templates: templates, at: now) {
                remove(at: cursor)  // the last key moved here: examine this slot again next
                removed += 1
            } else {
                cursor += 1
            }
        }
        return removed
    }

    /// Removes one of `samples` random partitions that are not busy: a fresh one if the sample
    /// holds one (returns false), otherwise the least recently updated (returns true: a forced
    /// eviction). Removes nothing when every sampled partition is busy (returns false).
    @inlinable
    mutating func evictOne(samples: Int, templates: [Algorithm], at now: Int64) -> Bool {
        var victim: (slot: Int, updatedAt: Int64)?
        for _ in 0 ..< min(samples, keys.count) {
            let slot = randomSlot()
            guard let entry = entries[keys[slot]], !entry.isBusy else { continue }
            var algorithm = templates[entry.template]
            algorithm.state = entry.state
            if algorithm.isFresh(at: now) {
                remove(at: slot)
                return false
            }
            if victim == nil || algorithm.updatedAt < victim!.updatedAt {
                victim = (slot, algorithm.updatedAt)
            }
        }
        guard let victim else { return false }
        remove(at: victim.slot)
        return true
    }

    @inlinable
    static func isFresh(_ entry: Entry, templates: [Algorithm], at now: Int64) -> Bool {
        var algorithm = templates[entry.template]
        algorithm.state = entry.state
        return algorithm.isFresh(at: now)
    }
}
