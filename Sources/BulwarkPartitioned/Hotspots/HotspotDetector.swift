public import BulwarkCore
public import Synchronization

/// Finds the keys (endpoints, API keys, IPs, parameters) with a surge of traffic over a sliding
/// window, in memory that does not grow with the number of keys.
///
/// A key is **hot** when its count over the window reaches ``HotspotRule/minimumCount`` and either
/// rule holds: its rate is at least ``HotspotRule/perSecond`` (K per second), or its count is at
/// least ``HotspotRule/timesAverage`` times the average key's (M times the mean over the distinct
/// keys in the window).
///
/// **How.** Counts go into a ring of count-min sketches, one per bucket of the window, with a
/// HyperLogLog of the distinct keys per bucket. Each record reads back its key's estimate over the
/// window (the smallest over the rows of its counters summed over the buckets), which is never
/// below the key's true count. A key whose estimate reaches the **offer level** (the rules'
/// threshold, or half the M rule's, never above either) and that is not watched yet is offered to
/// a table of at most ``Configuration/trackedKeys`` candidates, the heaviest keys at or above the
/// level (Space-Saving's rule: a full table gives up its lightest for a heavier newcomer). Reading
/// (``hotKeys()``, and every time the window turns a bucket) judges each candidate on its estimate.
///
/// **Recall.** A key whose true count over the window reaches the threshold has an estimate at
/// least as high at its last record, so it was offered, and it stays a candidate while its
/// estimate stays at the level: every such key is reported, whatever the order of arrivals,
/// unless more keys than ``Configuration/trackedKeys`` reached the level at once
/// (``overflowed`` then says so). With the M rule, whose threshold moves with the average key, the
/// guarantee holds while the threshold stays above half its value at the previous refresh.
///
/// **Precision.** With `width` w and `depth` d, an estimate exceeds the true count by more than
/// `e / w` of the window's total with probability at most `e^−d` per key (Cormode and
/// Muthukrishnan): a key is a false positive only if its true count is within that margin of the
/// threshold, or with that probability. With the defaults (w = 2,048, d = 4), the margin is
/// 0.13 % of the window's traffic and the probability 1.8 %; widen `width` for a closer margin.
///
/// **Cost.** ``record(_:count:)`` hashes the key once, does `depth` atomic increments and one
/// atomic add, loads one HyperLogLog register, and sums its `depth` cells over the buckets (adjacent
/// words): lock-free and allocation-free. A key at the offer level also probes the watched set
/// (a lock-free table); the lock is taken when such a key is not watched yet, and once per bucket
/// turn.
///
///     let hotspots = try HotspotDetector<String, ContinuousClock>(configuration: .init(rule: .init(timesAverage: 10)))
///     hotspots.record(apiKey)
///     if hotspots.isHot(apiKey) { ... }
public final class HotspotDetector<Key: Hashable & Sendable, C: NanosecondClock>: Sendable {
    /// How a detector measures.
    public struct Configuration: Sendable, Hashable {
        /// The span of history counts cover.
        public var window: Duration
        /// How many buckets the window is cut into.
        public var buckets: Int
        /// Counters per sketch row (a power of two): an estimate exceeds the true count by at most
        /// `e / width` of the window's total, with probability `1 − e^−depth`.
        public var width: Int
        /// Sketch rows: more rows, fewer estimates outside the `e / width` margin (`e^−depth`).
        public var depth: Int
        /// The most candidate keys watched at once: at least the number of keys that can reach the
        /// offer level together (the hot keys and those within the margin below them).
        public var trackedKeys: Int
        /// When a key is hot.
        public var rule: HotspotRule

        /// Creates a configuration.
        public init(
            window: Duration = .seconds(10), buckets: Int = 10, width: Int = 2048, depth: Int = 4, trackedKeys: Int = 64,
            rule: HotspotRule
        ) {
            self.window = window
            self.buckets = buckets
            self.width = width
            self.depth = depth
            self.trackedKeys = trackedKeys
            self.rule = rule
        }
    }

    @usableFromInline
    struct Candidates: Sendable {
        /// Each candidate and its hash.
        var keys: [Key: UInt64] = [:]
        /// The keys judged hot at the last refresh, with their figures.
        var hot: [Key: HotKey<Key>] = [:]
    }

    /// The configuration the detector was created with.
    public let configuration: Configuration
    /// The clock counts are timed on.
    public let clock: C
    /// Where keys turning hot and cooling down go (the key's description names it).
    public let events = EventChannel(defaultName: "Hotspots")
    @usableFromInline let ring: SketchRing
    /// The candidates' hashes, read by records without the lock.
    @usableFromInline let tracked: TrackedHashes
    @usableFromInline let candidates: LockedValue<Candidates>
    let hotCount = Atomic<Int>(0)
    /// The estimate at which a key is offered as a candidate: at most the threshold of every rule.
    @usableFromInline let offerLevel: Atomic<UInt32>
    /// While the table is full, the lightest candidate's estimate when last looked at: a newcomer
    /// must weigh more to take its place (0 while there is room).
    @usableFromInline let admission = Atomic<UInt32>(0)
    /// Set when a key at the offer level could not be watched.
    @usableFromInline let overflow = Atomic<Bool>(false)
    let windowNanoseconds: Int64
    let onChange: (@Sendable (Key, Bool) -> Void)?

    /// Creates a detector with an empty window.
    ///
    /// `onChange` is told, outside any lock, of every key that turns hot (`true`) or cools down
    /// (`false`), as the events are; it runs on the task whose record turned the window (or that
    /// called ``hotKeys()``), so keep it short.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a window the buckets do
    ///   not divide, a `width` that is not a power of two in `16 ... 1 << 24`, a `depth` outside
    ///   `1 ... 16`, `trackedKeys` outside `1 ... 1 << 20`, or a rule with neither K nor M (or one
    ///   not positive).
    public init(
        configuration: Configuration, clock: C, onChange: (@Sendable (Key, Bool) -> Void)? = nil
    ) throws(BulwarkError) {
        let width = try Validation.bucketWidth(window: configuration.window, buckets: configuration.buckets)
        let w = configuration.width
        guard w >= 16, w <= 1 << 24, w & (w - 1) == 0 else {
            throw .invalidConfiguration(field: "width", rule: "must be a power of two between 16 and 16777216 (got \(w))")
        }
        guard configuration.depth >= 1, configuration.depth <= 16 else {
            throw .invalidConfiguration(field: "depth", rule: "must be between 1 and 16 (got \(configuration.depth))")
        }
        _ = try Validation.atLeast(1, configuration.trackedKeys, field: "trackedKeys")
        guard configuration.trackedKeys <= 1 << 20 else {
            throw .invalidConfiguration(field: "trackedKeys", rule: "must be at most 1048576 (got \(configuration.trackedKeys))")
        }
        try configuration.rule.validate()
        self.configuration = configuration
        self.clock = clock
        windowNanoseconds = width * Int64(configuration.buckets)
        ring = SketchRing(
            buckets: configuration.buckets, depth: configuration.depth, width: w, bucketWidth: width, now: clock.nowNanoseconds
        )
        tracked = TrackedHashes(capacity: configuration.trackedKeys)
        candidates = LockedValue(Candidates())
        // Until the first refresh the average key is unknown: the M rule offers from minimumCount.
        offerLevel = Atomic(Self.level(rule: configuration.rule, seconds: Double(windowNanoseconds) / 1e9, average: nil))
        self.onChange = onChange
    }

    /// The bytes the sketches hold (they never grow).
    public var sketchMemory: Int { ring.memory }

    /// Whether a key whose estimate reached the offer level could not be watched since the detector
    /// was created, because more keys than ``Configuration/trackedKeys`` reached it together: the
    /// table then keeps the heaviest, and a hot key outside them may go unreported. While this is
    /// `false`, every key whose count over the window reached the K rule's threshold was reported.
    public var overflowed: Bool { overflow.load(ordering: .relaxed) }

    /// Counts `count` requests of `key` now (nothing for a count below 1). Lock-free and
    /// allocation-free but when the key reaches the offer level without being watched, and once
    /// per bucket turn; a reading older than the current bucket of its slot is dropped.
    @inlinable
    public func record(_ key: Key, count: Int = 1) {
        guard count > 0 else { return }
        let now = clock.nowNanoseconds
        let (number, slot) = ring.bucket(at: now)
        let held = ring.held(slot)
        if held < number {
            turn(at: now)
        } else if held > number {
            return  // read before the window turned past it: its bucket is gone
        }
        let hash = SketchRing.mix(key.hashValue)
        let level = offerLevel.load(ordering: .relaxed)
        let estimate = ring.add(hash: hash, count: UInt32(clamping: count), slot: slot, level: level)
        guard estimate >= level, !tracked.contains(hash) else { return }
        if estimate > admission.load(ordering: .relaxed) {
            watch(key, hash: hash, estimate: estimate)
        } else if !overflow.load(ordering: .relaxed) {
            overflow.store(true, ordering: .relaxed)  // the table is full of keys at least as heavy
        }
    }

    /// Whether `key` was hot at the last refresh (made at every bucket turn and every
    /// ``hotKeys()``): one relaxed load when no key is hot.
    public func isHot(_ key: Key) -> Bool {
        guard hotCount.load(ordering: .relaxed) > 0 else { return false }
        return candidates.withLock { $0.hot[key] != nil }
    }

    /// The hot keys now, hottest first, with their estimated counts.
    public func hotKeys() -> [HotKey<Key>] {
        (refresh(at: clock.nowNanoseconds, turning: false) ?? []).sorted { $0.count > $1.count }
    }

    /// The estimated count of `key` over the window now: never below its true count, and above it
    /// by at most `e / width` of the window's total with probability `1 − e^−depth`.
    public func estimate(_ key: Key) -> Int {
        let slots = ring.window(at: clock.nowNanoseconds)
        return ring.estimate(hash: SketchRing.mix(key.hashValue), slots: slots)
    }

    /// The total count and the estimated number of distinct keys over the window now.
    public func traffic() -> (total: Int, distinctKeys: Int) {
        let slots = ring.window(at: clock.nowNanoseconds)
        return (Int(ring.total(slots)), Int(ring.distinct(slots).rounded()))
    }

    /// The window turned: clear the buckets that left it, then refresh the hot set.
    @usableFromInline
    func turn(at now: Int64) {
        _ = refresh(at: now, turning: true)
    }

    /// Makes `key`, whose estimate reached the offer level, a candidate. When the table is full,
    /// the lightest candidate (on its estimate now) gives its place to a heavier newcomer, and a
    /// newcomer no heavier is turned away; either loses a key at the level, which sets `overflow`.
    @usableFromInline
    func watch(_ key: Key, hash: UInt64, estimate: UInt32) {
        let capacity = configuration.trackedKeys
        candidates.withLock { table in
            guard table.keys[key] == nil else { return }  // watched meanwhile
            if table.keys.count >= capacity {
                var lightest: (key: Key, hash: UInt64, weight: UInt32)?
                var next = UInt32.max
                for (candidate, candidateHash) in table.keys {
                    let weight = ring.heldEstimate(hash: candidateHash)
                    if weight < lightest?.weight ?? .max {
                        if let lightest { next = min(next, lightest.weight) }
                        lightest = (candidate, candidateHash, weight)
                    } else {
                        next = min(next, weight)
                    }
                }
                guard let out = lightest, estimate > out.weight else {
                    admission.store(lightest?.weight ?? 0, ordering: .relaxed)
                    overflow.store(true, ordering: .relaxed)
                    return
                }
                table.keys[out.key] = nil
                tracked.remove(out.hash)
                if ring.heldEstimate(hash: out.hash) >= offerLevel.load(ordering: .relaxed) { overflow.store(true, ordering: .relaxed) }
                table.keys[key] = hash
                tracked.insert(hash)
                admission.store(min(next, estimate), ordering: .relaxed)
                return
            }
            table.keys[key] = hash
            tracked.insert(hash)
            if table.keys.count >= capacity {
                admission.store(table.keys.values.map { ring.heldEstimate(hash: $0) }.min() ?? 0, ordering: .relaxed)
            }
        }
    }

    /// The offer level for a rule: the floor of the K rule's count, or of half the M rule's (its
    /// threshold moves with the average key), at least `minimumCount`; with the M rule and no
    /// average yet, `minimumCount`.
    static func level(rule: HotspotRule, seconds: Double, average: Double?) -> UInt32 {
        var level = Double(UInt32.max)
        if let perSecond = rule.perSecond { level = min(level, (perSecond * seconds).rounded(.down)) }
        if let times = rule.timesAverage { level = min(level, average.map { (times * $0 / 2).rounded(.down) } ?? 0) }
        level = max(Double(rule.minimumCount), level)
        return UInt32(min(Double(UInt32.max), level))
    }

    /// Clears the buckets that left the window at `now` (with `turning`, stops there if a racing
    /// record did it first), then judges every candidate over the window, publishes the hot set
    /// and the offer level, lets go of candidates below the level, and emits an event per key that
    /// turned hot or cooled down.
    func refresh(at now: Int64, turning: Bool) -> [HotKey<Key>]? {
        let rule = configuration.rule
        let seconds = Double(windowNanoseconds) / 1e9
        let capacity = configuration.trackedKeys
        let result = candidates.withLock { table -> ([HotKey<Key>], [(Key, Bool)])? in
            guard ring.expire(at: now) || !turning else { return nil }
            let slots = ring.window(at: now)
            let total = ring.total(slots)
            let distinct = max(1, ring.distinct(slots))
            let average = Double(total) / distinct
            let level = Self.level(rule: rule, seconds: seconds, average: average)
            offerLevel.store(level, ordering: .relaxed)
            var hot: [Key: HotKey<Key>] = [:]
            var leaving: [(key: Key, hash: UInt64)] = []
            for (key, hash) in table.keys {
                let count = ring.estimate(hash: hash, slots: slots)
                let rate = Double(count) / seconds
                if count >= rule.minimumCount,
                   rule.perSecond.map({ rate >= $0 }) == true || rule.timesAverage.map({ Double(count) >= $0 * average }) == true {
                    hot[key] = HotKey(key: key, count: count, perSecond: rate, timesAverage: Double(count) / average)
                } else if ring.heldEstimate(hash: hash) < level {
                    leaving.append((key, hash))
                }
            }
            // Candidates below the level leave; one whose record raced the removal (and found it
            // still watched) is at the level again now, and stays.
            for (key, hash) in leaving {
                table.keys[key] = nil
                tracked.remove(hash)
            }
            for (key, hash) in leaving where ring.heldEstimate(hash: hash) >= level {
                table.keys[key] = hash
                tracked.insert(hash)
            }
            let full = table.keys.count >= capacity
            admission.store(full ? table.keys.values.map { ring.heldEstimate(hash: $0) }.min() ?? 0 : 0, ordering: .relaxed)
            var changes: [(Key, Bool)] = []
            for key in hot.keys where table.hot[key] == nil { changes.append((key, true)) }
            for key in table.hot.keys where hot[key] == nil { changes.append((key, false)) }
            table.hot = hot
            hotCount.store(hot.count, ordering: .relaxed)
            return (Array(hot.values), changes)
        }
        guard let (hot, changes) = result else { return nil }
        for (key, isHot) in changes {
            onChange?(key, isHot)
            events.emit(.hotKeyChanged(key: String(describing: key), hot: isHot))
        }
        return hot
    }
}

/// When a hotspot detector calls a key hot.
public struct HotspotRule: Sendable, Hashable {
    /// Hot at or above this many requests per second over the window (K); `nil` for no such rule.
    public var perSecond: Double?
    /// Hot at or above this many times the average key's count (M); `nil` for no such rule.
    public var timesAverage: Double?
    /// Never hot below this count over the window.
    public var minimumCount: Int

    /// Creates a rule; at least one of `perSecond` and `timesAverage` must be given.
    public init(perSecond: Double? = nil, timesAverage: Double? = nil, minimumCount: Int = 10) {
        self.perSecond = perSecond
        self.timesAverage = timesAverage
        self.minimumCount = minimumCount
    }

    func validate() throws(BulwarkError) {
        guard perSecond != nil || timesAverage != nil else {
            throw .invalidConfiguration(field: "rule", rule: "must give perSecond or timesAverage")
        }
        if let perSecond, !(perSecond > 0) { throw .invalidConfiguration(field: "rule.perSecond", rule: "must be positive (got \(perSecond))") }
        if let times = timesAverage, !(times > 1) { throw .invalidConfiguration(field: "rule.timesAverage", rule: "must be above 1 (got \(times))") }
        _ = try Validation.atLeast(1, minimumCount, field: "rule.minimumCount")
    }
}

/// A hot key and its figures over the window.
public struct HotKey<Key: Hashable & Sendable>: Sendable, Hashable {
    /// The key.
    public var key: Key
    /// Its estimated count over the window.
    public var count: Int
    /// Its rate over the window, per second.
    public var perSecond: Double
    /// Its count over the average key's.
    public var timesAverage: Double

    /// Creates the figures of a hot key.
    public init(key: Key, count: Int, perSecond: Double, timesAverage: Double) {
        self.key = key
        self.count = count
        self.perSecond = perSecond
        self.timesAverage = timesAverage
    }
}

extension HotspotDetector where C == ContinuousClock {
    /// Creates a detector timed on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(configuration: Configuration, onChange: (@Sendable (Key, Bool) -> Void)? = nil) throws(BulwarkError) {
        try self.init(configuration: configuration, clock: ContinuousClock(), onChange: onChange)
    }
}
