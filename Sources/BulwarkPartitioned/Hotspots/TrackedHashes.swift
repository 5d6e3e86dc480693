public import Synchronization

/// The hashes of the keys a hotspot detector watches, readable without its lock: an
/// open-addressing table of atomics (linear probing, at most half full), written only under the
/// detector's lock.
///
/// A record whose key's estimate reached the offer level asks it whether the key is watched
/// already, so a watched key's records never take the lock. A reader racing a removal may see the
/// key still there, or a key moved by the removal gone (it then takes the lock and finds it): the
/// detector re-reads a removed key's counters after removing it, so a key that reached the level
/// meanwhile is not lost. Two keys with the same 64-bit hash are one key here, as they already are
/// in every row of the sketch.
@usableFromInline
final class TrackedHashes: @unchecked Sendable {  // every field is an atomic, or set once
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let mask: Int

    /// A table for at most `capacity` hashes.
    init(capacity: Int) {
        var size = 4
        while size < 2 * capacity { size *= 2 }
        mask = size - 1
        slots = .allocate(capacity: size)
        for index in 0 ... mask { (slots + index).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
    }

    /// The bytes the table holds.
    var memory: Int { (mask + 1) * 8 }

    /// What the table stores for a hash: never 0, which marks an empty slot.
    @inlinable @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    /// The first slot probed for a tag.
    @inlinable @inline(__always)
    func home(_ tag: UInt64) -> Int { Int(truncatingIfNeeded: tag) & mask }

    /// Whether the hash is in the table (sequentially consistent loads: see the type's summary).
    @inlinable
    func contains(_ hash: UInt64) -> Bool {
        let tag = Self.tag(hash)
        var index = home(tag)
        for _ in 0 ... mask {
            let stored = (slots + index).pointee.load(ordering: .sequentiallyConsistent)
            if stored == tag { return true }
            if stored == 0 { return false }
            index = (index + 1) & mask
        }
        return false
    }

    /// Adds a hash that is not in the table (under the detector's lock).
    func insert(_ hash: UInt64) {
        let tag = Self.tag(hash)
        var index = home(tag)
        while (slots + index).pointee.load(ordering: .relaxed) != 0 { index = (index + 1) & mask }
        (slots + index).pointee.store(tag, ordering: .sequentiallyConsistent)
    }

    /// Removes a hash (under the detector's lock), shifting back the entries probed past it.
    func remove(_ hash: UInt64) {
        let tag = Self.tag(hash)
        var hole = home(tag)
        while true {
            let stored = (slots + hole).pointee.load(ordering: .relaxed)
            if stored == 0 { return }
            if stored == tag { break }
            hole = (hole + 1) & mask
        }
        var next = hole
        while true {
            next = (next + 1) & mask
            let stored = (slots + next).pointee.load(ordering: .relaxed)
            if stored == 0 { break }
            // An entry may move back into the hole unless its home lies cyclically in (hole, next].
            let home = home(stored)
            let stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !stays {
                (slots + hole).pointee.store(stored, ordering: .sequentiallyConsistent)
                hole = next
            }
        }
        (slots + hole).pointee.store(0, ordering: .sequentiallyConsistent)
    }
}
