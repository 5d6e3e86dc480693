// The partitioned limiter at 1,000,000 live keys: the memory each key costs (resident memory
// grown ÷ keys) and the cost of a decision on a random key among them.
#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import BenchmarkSupport
import BulwarkPartitioned
import BulwarkTokenBucket

let keyCount = 1_000_000
let clock = ContinuousClock()

/// A bucket per key that a benchmark never empties; it starts below capacity, so a partition is never
/// equivalent to a fresh one and none is dropped.
let configuration = TokenBucket.Configuration(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1), initialTokens: 500_000_000)

#if canImport(Glibc)
/// glibc's `malloc_trim` (in `malloc.h`, which the Glibc module does not import).
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32
#endif

/// Resident memory of this process, in bytes (Linux: /proc/self/statm), after handing the
/// allocator's free memory back to the system: otherwise memory freed by an earlier sample (which
/// glibc keeps) would be reused unseen and a key would look cheaper than it is.
func residentBytes() -> Int {
    #if canImport(Glibc)
    _ = mallocTrim(0)
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
    // "size resident shared ...", in pages.
    let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let resident = Int(fields[1]) else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return 0
    #endif
}

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

    Benchmark("Partitioned (1,000,000 String keys): tryAcquire permitted, random key", configuration: decisions) { benchmark in
        let keys = stringKeys
        let limiter = try populated(keys)
        var index = 12_345
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index = (index &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            blackHole(try limiter.tryAcquire(keys[index % keyCount]).isAllowed)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("Partitioned (1,000,000 Int keys): tryAcquire permitted, random key", configuration: decisions) { benchmark in
        let limiter = try populated(Array(0 ..< keyCount))
        var index = 12_345
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index = (index &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            blackHole(try limiter.tryAcquire(index % keyCount).isAllowed)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("Partitioned (1 key): tryAcquire permitted", configuration: decisions) { benchmark in
        let limiter = try populated(["user-1"])
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire("user-1").isAllowed)
        }
    }
}
