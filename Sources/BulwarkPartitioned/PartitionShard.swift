import BulwarkCore
import BulwarkEngine

/// One shard of a partitioned limiter: the states of the keys that hash to it, under one lock.
///
/// Each partition keeps only its algorithm's `RateLimitAlgorithm/State` (a few integers) and the
/// index of its group's template; the configuration lives once per group. A partition with
/// waiters is *busy*: its state has moved into an `InMemoryRateLimiter` (the shared engine and its
/// waiting room) until the last waiter leaves.
@usableFromInline
struct PartitionShard<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock>: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var state: Algorithm.State
        /// The group's template; `busyFlag` is set while an engine holds the state.
        @usableFromInline var group: UInt32

        @usableFromInline
        init(state: Algorithm.State, group: UInt32) {
            self.state = state
            self.group = group
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

    @usableFromInline let table = PartitionTable<Key, Entry>()
    @usableFromInline var busy: [Key: Busy] = [:]
    /// Where the incremental sweep resumes (a slot of the table).
    @usableFromInline var cursor = 0
    /// The generator that samples eviction candidates.
    @usableFromInline var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// A pseudo-random slot of the table.
    @inlinable
    mutating func randomSlot() -> Int {
        Int(truncatingIfNeeded: random.next() % UInt64(table.capacity))
    }

    /// Examines up to `slots` slots from the cursor and removes the partitions equivalent to a
    /// fresh state at `now` (never a busy one); returns how many it removed.
    @inlinable
    mutating func sweep(_ slots: Int, templates: [Algorithm], at now: Int64) -> Int {
        var removed = 0
        for _ in 0 ..< slots {
            if cursor >= table.capacity { cursor = 0 }
            if table.isOccupied(cursor), Self.isFresh(table.value(at: cursor).pointee, templates: templates, at: now) {
                removed += 1
                // An entry that moved into this slot is examined next.
                if table.remove(at: cursor) { continue }
            }
            cursor += 1
        }
        return removed
    }

    /// What `evictOne` removed.
    @usableFromInline
    enum Eviction {
        case none, fresh, forced
    }

    /// Removes one of `samples` random partitions that are not busy: a fresh one if the sample
    /// holds one, otherwise the least recently updated (a forced eviction). Removes nothing when
    /// the shard is empty or every sampled partition is busy.
    @inlinable
    mutating func evictOne(samples: Int, templates: [Algorithm], at now: Int64) -> Eviction {
        guard table.count > 0 else { return .none }
        var victim: (slot: Int, updatedAt: Int64)?
        for _ in 0 ..< samples {
            var slot = randomSlot()
            while !table.isOccupied(slot) { slot = table.next(slot) }
            let entry = table.value(at: slot).pointee
            guard !entry.isBusy else { continue }
            var algorithm = templates[entry.template]
            algorithm.state = entry.state
            if algorithm.isFresh(at: now) {
                table.remove(at: slot)
                return .fresh
            }
            if victim == nil || algorithm.updatedAt < victim!.updatedAt {
                victim = (slot, algorithm.updatedAt)
            }
        }
        guard let victim else { return .none }
        table.remove(at: victim.slot)
        return .forced
    }

    @inlinable
    static func isFresh(_ entry: Entry, templates: [Algorithm], at now: Int64) -> Bool {
        guard !entry.isBusy else { return false }
        var algorithm = templates[entry.template]
        algorithm.state = entry.state
        return algorithm.isFresh(at: now)
    }
}
