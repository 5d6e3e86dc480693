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
/// HyperLogLog of the distinct keys per bucket. A key whose counter in the current bucket passes a
/// multiple of a **watch threshold** (the per-bucket share of the rules: K × the bucket's length,
/// or M × the average key over the buckets so far, whichever is lower, at least 1) and stands out
/// of the other keys' noise (below) is offered to a table of at most
/// ``Configuration/trackedKeys`` candidates; when the table is full, the lightest candidate that
/// is not hot makes room for a heavier one (Space-Saving's rule). A busy key is offered again
/// every `threshold` records, so a threshold that moved or a full table delays its detection by a
/// bucket at most. Reading (``hotKeys()``, and every time the window turns a bucket) estimates
/// each candidate's window count with Count-Mean-Min and applies the rules. A key hot by the K
/// rule passes the watch threshold in some bucket (pigeonhole), so it is not missed while it
/// stands out of the noise.
///
/// **Resolution.** Each counter also holds the counts of the other keys that share it: about
/// `Nb / width` per bucket (`Nb` the bucket's total), varying by its square root. A key is watched
/// once its counter stands three standard deviations above that mean, and judged on its window
/// estimate with the average noise subtracted (the lower median over the rows, so a key sharing
/// counters with a hot one in half the rows is not lifted). With `width` 2,048 and a million
/// requests a second, a key needs about 70 requests in a second (0.007 % of the traffic) to be
/// seen. No bounded-memory sketch tells smaller surges from the crowd; widen `width` to see
/// smaller ones (the noise falls as its square root). The average key's count comes from the
/// distinct keys counted by HyperLogLog, within about 3 % (1,024 registers).
///
/// **Cost.** ``record(_:count:)`` hashes the key once, does `depth` atomic increments and one
/// atomic add, and loads one HyperLogLog register: lock-free and allocation-free. The lock is
/// taken when a key that stands out passes a multiple of the watch threshold, and once per
/// bucket turn.
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
        /// Counters per sketch row (a power of two): more counters, less noise.
        public var width: Int
        /// Sketch rows: more rows, fewer outliers.
        public var depth: Int
        /// The most candidate keys watched at once.
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
        /// Each candidate: its hash, its weight (the count it was last offered with, or its window
        /// count per bucket since the last refresh), by which the lightest makes room, and whether
        /// it was hot at the last refresh (a hot candidate never makes room).
        @usableFromInline var keys: [Key: Candidate] = [:]
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
    @usableFromInline let candidates: LockedValue<Candidates>
    let hotCount = Atomic<Int>(0)
    /// The count in one bucket that makes a key a candidate.
    @usableFromInline let watchThreshold = Atomic<UInt32>(1)
    let windowNanoseconds: Int64
    let onChange: (@Sendable (Key, Bool) -> Void)?

    /// Creates a detector with an empty window.
    ///
    /// `onChange` is told, outside any lock, of every key that turns hot (`true`) or cools down
    /// (`false`), as the events are; it runs on the task whose record turned the window (or that
    /// called ``hotKeys()``), so keep it short.
    ///
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` for a window the buckets do
    ///   not divide, a `width` that is not a power of two in `16 ... 1 << 24`, a `depth` outside
    ///   `1 ... 16`, `trackedKeys` below 1, or a rule with neither K nor M (or one not positive).
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
        try configuration.rule.validate()
        self.configuration = configuration
        self.clock = clock
        windowNanoseconds = width * Int64(configuration.buckets)
        ring = SketchRing(
            buckets: configuration.buckets, depth: configuration.depth, width: w, bucketWidth: width, now: clock.nowNanoseconds
        )
        candidates = LockedValue(Candidates())
        self.onChange = onChange
    }

    /// The bytes the sketches hold (they never grow).
    public var sketchMemory: Int { ring.memory }

    /// Counts `count` requests of `key` now (nothing for a count below 1). Lock-free and
    /// allocation-free but when the key is offered as a candidate and once per bucket turn; a
    /// reading older than the current bucket of its slot is dropped.
    @inlinable
    public func record(_ key: Key, count: Int = 1) {
        guard count > 0 else { return }
        let now = clock.nowNanoseconds
        let (number, slot) = ring.bucket(at: now)
        let held = ring.held(slot)
        if held < number {
            turn(to: number, slot: slot, at: now)
        } else if held > number {
            return  // read before the window turned past it: its bucket is gone
        }
        let hash = SketchRing.mix(key.hashValue)
        let amount = UInt32(clamping: count)
        let (reached, total) = ring.add(hash: hash, count: amount, slot: slot)
        // Offered each time its counter passes a multiple of the threshold (about once per
        // `threshold` records), if it stands out of the counters' average (the other keys' noise)
        // by three standard deviations of that noise.
        let threshold = max(1, watchThreshold.load(ordering: .relaxed))
        guard reached % threshold < amount, reached >= threshold else { return }
        let mean = Double(total) / Double(ring.width)
        if Double(reached) - mean >= 3 * mean.squareRoot() { watch(key, hash: hash, weight: Int(reached)) }
    }

    /// Whether `key` was hot at the last refresh (made at every bucket turn and every
    /// ``hotKeys()``): one relaxed load when no key is hot.
    public func isHot(_ key: Key) -> Bool {
        guard hotCount.load(ordering: .relaxed) > 0 else { return false }
        return candidates.withLock { $0.hot[key] != nil }
    }

    /// The hot keys now, hottest first, with their estimated counts.
    public func hotKeys() -> [HotKey<Key>] {
        refresh(at: clock.nowNanoseconds).sorted { $0.count > $1.count }
    }

    /// The estimated count of `key` over the window now.
    public func estimate(_ key: Key) -> Int {
        let slots = ring.window(at: clock.nowNanoseconds)
        return ring.estimate(hash: SketchRing.mix(key.hashValue), slots: slots, total: ring.total(slots))
    }

    /// The total count and the estimated number of distinct keys over the window now.
    public func traffic() -> (total: Int, distinctKeys: Int) {
        let slots = ring.window(at: clock.nowNanoseconds)
        return (Int(ring.total(slots)), Int(ring.distinct(slots).rounded()))
    }

    /// The window turned: clear the new bucket, then refresh the hot set and the threshold.
    @usableFromInline
    func turn(to number: Int64, slot: Int, at now: Int64) {
        if candidates.withLock({ _ in ring.clear(slot, for: number) }) { _ = refresh(at: now) }
    }

    /// Makes `key` a candidate of `weight`; when the table is full, the lightest candidate that
    /// is not hot makes room if it weighs less (Space-Saving's rule, over at most `trackedKeys`).
    @inlinable
    func watch(_ key: Key, hash: UInt64, weight: Int) {
        let capacity = configuration.trackedKeys
        candidates.withLock { table in
            if let known = table.keys[key] {
                if weight > known.weight { table.keys[key]?.weight = weight }
                return
            }
            if table.keys.count >= capacity {
                var lightest: Key?
                var lightestWeight = weight
                for (candidate, entry) in table.keys where !entry.hot && entry.weight < lightestWeight {
                    lightest = candidate
                    lightestWeight = entry.weight
                }
                guard let lightest else { return }
                table.keys[lightest] = nil
            }
            table.keys[key] = Candidate(hash: hash, weight: weight, hot: false)
        }
    }

    /// Judges every candidate over the window at `now`, publishes the hot set, recomputes the
    /// watch threshold, and emits an event per key that turned hot or cooled down.
    func refresh(at now: Int64) -> [HotKey<Key>] {
        let slots = ring.window(at: now)
        let total = ring.total(slots)
        let distinct = max(1, ring.distinct(slots))
        let average = Double(total) / distinct
        let rule = configuration.rule
        let seconds = Double(windowNanoseconds) / 1e9
        let (hot, changes) = candidates.withLock { table -> ([HotKey<Key>], [(Key, Bool)]) in
            var hot: [Key: HotKey<Key>] = [:]
            var weighed = table.keys
            for (key, entry) in table.keys {
                let count = ring.estimate(hash: entry.hash, slots: slots, total: total)
                weighed[key] = Candidate(hash: entry.hash, weight: count / max(1, slots.count), hot: false)
                let rate = Double(count) / seconds
                guard count >= rule.minimumCount,
                      rule.perSecond.map({ rate >= $0 }) == true || rule.timesAverage.map({ Double(count) >= $0 * average }) == true
                else { continue }
                hot[key] = HotKey(key: key, count: count, perSecond: rate, timesAverage: Double(count) / average)
                weighed[key]?.hot = true
            }
            // Candidates that are neither hot nor above half the watch threshold leave the table.
            let floor = Int(watchThreshold.load(ordering: .relaxed)) / 2
            table.keys = weighed.filter { hot[$0.key] != nil || $0.value.weight > floor }
            var changes: [(Key, Bool)] = []
            for key in hot.keys where table.hot[key] == nil { changes.append((key, true)) }
            for key in table.hot.keys where hot[key] == nil { changes.append((key, false)) }
            table.hot = hot
            hotCount.store(hot.count, ordering: .relaxed)
            // The per-bucket share of each rule: K × a bucket's length, M × the average key per bucket.
            let bucketSeconds = seconds / Double(configuration.buckets)
            var threshold = Double(UInt32.max)
            if let perSecond = rule.perSecond { threshold = min(threshold, perSecond * bucketSeconds) }
            if let times = rule.timesAverage { threshold = min(threshold, times * average / Double(max(1, slots.count))) }
            watchThreshold.store(UInt32(max(1, min(Double(UInt32.max), threshold.rounded(.down)))), ordering: .relaxed)
            return (Array(hot.values), changes)
        }
        for (key, isHot) in changes {
            onChange?(key, isHot)
            events.emit(.hotKeyChanged(key: String(describing: key), hot: isHot))
        }
        return hot
    }
}

extension HotspotDetector where C == ContinuousClock {
    /// Creates a detector timed on `ContinuousClock`.
    ///
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` naming the field and the rule.
    public convenience init(configuration: Configuration, onChange: (@Sendable (Key, Bool) -> Void)? = nil) throws(BulwarkError) {
        try self.init(configuration: configuration, clock: ContinuousClock(), onChange: onChange)
    }
}

/// A key a hotspot detector watches.
@usableFromInline
struct Candidate: Sendable {
    @usableFromInline var hash: UInt64
    @usableFromInline var weight: Int
    @usableFromInline var hot: Bool

    @inlinable
    init(hash: UInt64, weight: Int, hot: Bool) {
        self.hash = hash
        self.weight = weight
        self.hot = hot
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
