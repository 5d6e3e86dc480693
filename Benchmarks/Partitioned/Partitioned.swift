// The partitioned limiter at 1,000 and 1,000,000 live keys: the memory each key costs (resident
// memory grown ÷ keys) and the cost of a decision on a random key among them, against the floor
// measured in the same process: a clock read + a compare-exchange, one DRAM miss (what a random
// key of a million cannot avoid), and the seeded hash of a key (what any key costs).
#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import BenchmarkSupport
import BulwarkPartitioned
import BulwarkTokenBucket
import Synchronization

let keyCount = 1_000_000
let clock = ContinuousClock()

/// A bucket per key that a benchmark never empties; it starts below capacity, so a partition is never
/// equivalent to a fresh one and none is dropped.
let configuration = TokenBucket.Configuration(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1), initialTokens: 500_000_000)


/// A limiter holding `keys`, each used once.
func populated<Key: Hashable & Sendable>(_ keys: [Key]) throws -> PartitionedRateLimiter<Key, TokenBucket, ContinuousClock> {
    let limiter = try PartitionedRateLimiter<Key, TokenBucket, ContinuousClock>(
        configuration: configuration, maximumPartitions: keys.count, shards: 64, clock: clock
    )
    for key in keys { _ = try limiter.tryAcquire(key) }
    precondition(limiter.partitionCount == keys.count && limiter.forcedEvictionCount == 0)
    return limiter
}

/// `user-0000001`-style keys: short enough to be stored inline in a `String`.
let stringKeys = (0 ..< keyCount).map { "user-\(1_000_000 + $0)" }

/// Random indices below `count`, as many as the smallest power of two at least `count` (and 4,096):
/// read in order, they pick keys at random without a division in the timed loop.
func randomPicks(below count: Int) -> [Int] {
    var generator = SystemRandomNumberGenerator()
    var length = 4_096
    while length < count { length *= 2 }
    return (0 ..< length).map { _ in Int.random(in: 0 ..< count, using: &generator) }
}

/// `name`: a permitted decision on a random one of `keys()`, each already holding a partition.
func randomKeyDecisions<Key: Hashable & Sendable>(
    _ name: String, configuration: Benchmark.Configuration, keys: @escaping @Sendable () -> [Key]
) {
    Benchmark("\(name): tryAcquire permitted, random key", configuration: configuration) { benchmark in
        let keys = keys()
        let limiter = try populated(keys)
        let picks = randomPicks(below: keys.count), mask = picks.count - 1
        benchmark.startMeasurement()
        for step in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire(keys[picks[step & mask]]).isAllowed)
        }
        benchmark.stopMeasurement()
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()
    let memory = Benchmark.Configuration(
        metrics: [.wallClock, .custom("bytes per key", useScalingFactor: false)],
        timeUnits: .milliseconds, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 3
    )

    Benchmark("Partitioned: memory per key, 1,000,000 String keys", configuration: memory) { benchmark in
        let keys = stringKeys
        let before = residentBytes()
        let limiter = try populated(keys)
        benchmark.measurement(.custom("bytes per key", useScalingFactor: false), (residentBytes() - before) / keyCount)
        blackHole(limiter)
    }

    Benchmark("Partitioned: memory per key, 1,000,000 Int keys", configuration: memory) { benchmark in
        let before = residentBytes()
        let limiter = try populated(Array(0 ..< keyCount))
        benchmark.measurement(.custom("bytes per key", useScalingFactor: false), (residentBytes() - before) / keyCount)
        blackHole(limiter)
    }

    let decisions = Benchmark.Configuration(
        metrics: standardMetrics, timeUnits: .nanoseconds, scalingFactor: .mega, maxDuration: .seconds(10), maxIterations: 10
    )

    // A decision on a random one of the live keys.
    for count in [keyCount, 1_000] {
        let label = count == keyCount ? "1,000,000" : "\(count)"
        randomKeyDecisions("Partitioned (\(label) String keys)", configuration: decisions) { Array(stringKeys.prefix(count)) }
        randomKeyDecisions("Partitioned (\(label) Int keys)", configuration: decisions) { Array(0 ..< count) }
    }

    // The floor, in this process.
    Benchmark("Floor: clock read + compare-exchange", configuration: decisions) { benchmark in
        let atomic = Atomic<Int64>(0)
        for _ in benchmark.scaledIterations {
            let now = clock.nowNanoseconds
            _ = atomic.compareExchange(expected: now &- 1, desired: now, ordering: .acquiringAndReleasing)
        }
        blackHole(atomic.load(ordering: .relaxed))
    }
    Benchmark("Floor: one DRAM miss (dependent random reads of 64 MB)", configuration: decisions) { benchmark in
        // 64 MB: about the size of the table at a million keys. Each index depends on the value
        // read before, so the reads cannot overlap: one cache (and TLB) miss each.
        let count = 1 << 23
        let values = (0 ..< count).map { $0 }
        var index = 12_345
        var sum = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index = (index &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            sum &+= values[(index ^ (sum & 1)) & (count - 1)]
        }
        benchmark.stopMeasurement()
        blackHole(sum)
    }
    Benchmark("Floor: hashValue of a String key", configuration: decisions) { benchmark in
        let keys = Array(stringKeys.prefix(1_000))
        let picks = randomPicks(below: 1_000), mask = picks.count - 1
        for step in benchmark.scaledIterations {
            blackHole(keys[picks[step & mask]].hashValue)
        }
    }
    Benchmark("Floor: hashValue of an Int key", configuration: decisions) { benchmark in
        let picks = randomPicks(below: 1_000), mask = picks.count - 1
        for step in benchmark.scaledIterations {
            blackHole(picks[step & mask].hashValue)
        }
    }

    Benchmark("Partitioned (1 key): tryAcquire permitted", configuration: decisions) { benchmark in
        let limiter = try populated(["user-1"])
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire("user-1").isAllowed)
        }
    }
}
