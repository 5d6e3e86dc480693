// The monitors' record paths against their floor in the same run (one clock read and one
// compare-exchange, on one task and on two sharing the atomic), their reads, the hotspot sketch
// over 1,000,000 distinct keys and under a Zipf stream, a feature switch's read, and the
// adaptive policies' overhead.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Benchmark
import BenchmarkSupport
import Bulwark
import BulwarkDegradation
import BulwarkHealth
import BulwarkMonitors
import Synchronization

let clock = ContinuousClock()

/// Runs `body(index)` `total` times, split over `tasks` concurrent tasks.
func spread(tasks: Int, total: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for task in 0 ..< tasks {
            group.addTask {
                for index in stride(from: task, to: total, by: tasks) { body(index) }
            }
        }
    }
}

/// Registers `name` on one task and on two.
func recordPath(_ name: String, _ make: @escaping @Sendable () throws -> @Sendable (Int) -> Void) {
    for tasks in [1, 2] {
        Benchmark("\(name), \(tasks) task\(tasks == 1 ? "" : "s")") { benchmark in
            let record = try make()
            benchmark.startMeasurement()
            await spread(tasks: tasks, total: benchmark.scaledIterations.count, record)
            benchmark.stopMeasurement()
        }
    }
}

/// A million distinct keys, visited in a scrambled order.
let keyCount = 1_000_000
@inline(__always) func key(_ index: Int) -> Int { (index &* 48_271) % keyCount }
let stringKeys: [String] = (0 ..< keyCount).map { "api-key-\($0)" }

/// A million draws of a Zipf distribution (s = 1.1) over 100,000 keys, seeded: a few keys carry
/// most of the traffic, as hot keys do.
let zipfKeys: [Int] = {
    var sum = 0.0
    let cumulative = (1 ... 100_000).map { rank -> Double in
        sum += 1 / pow(Double(rank), 1.1)
        return sum
    }
    var state: UInt64 = 0x2161_1
    return (0 ..< keyCount).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        let target = Double((z ^ (z >> 31)) >> 11) * 0x1p-53 * sum
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}()

/// Counts compare-exchanges for the floor.
final class Cell: Sendable {
    let value = Atomic<Int64>(0)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    recordPath("Floor: clock read + compare-exchange") {
        let cell = Cell()
        return { _ in
            let now = clock.nowNanoseconds
            var expected = cell.value.load(ordering: .relaxed)
            while true {
                let (exchanged, original) = cell.value.compareExchange(
                    expected: expected, desired: max(expected, now) &+ 1, ordering: .relaxed
                )
                if exchanged { break }
                expected = original
            }
        }
    }

    // What hashing a String key costs by itself, for the hotspot detector's String keys.
    Benchmark("Floor: String hashValue, 1,000,000 distinct") { benchmark in
        for index in benchmark.scaledIterations { blackHole(stringKeys[key(index)].hashValue) }
    }

    recordPath("Error rate: record") {
        let errors = try ErrorRateMonitor(configuration: .init(window: .seconds(60), buckets: 12))
        return { index in errors.record(failed: index & 7 == 0) }
    }
    Benchmark("Error rate: snapshot, 12 buckets") { benchmark in
        let errors = try ErrorRateMonitor(configuration: .init(window: .seconds(60), buckets: 12))
        for index in 0 ..< 1000 { errors.record(failed: index & 7 == 0) }
        for _ in benchmark.scaledIterations { blackHole(errors.snapshot()) }
    }

    recordPath("Latency: record") {
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6))
        return { index in latency.record(nanoseconds: 1_000_000 + Int64(index & 0xFFFF) * 1_000) }
    }
    Benchmark("Latency: snapshot, 6 histograms", configuration: .init(metrics: standardMetrics, timeUnits: .microseconds, scalingFactor: .kilo)) { benchmark in
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6))
        for index in 0 ..< 100_000 { latency.record(nanoseconds: 1_000_000 + Int64(index) * 1_000) }
        for _ in benchmark.scaledIterations { blackHole(latency.snapshot()) }
    }

    let hotspotConfiguration = HotspotDetector<Int, ContinuousClock>.Configuration(rule: .init(timesAverage: 50))
    recordPath("Hotspot: record, Int keys, 1,000,000 distinct") {
        let hotspots = try HotspotDetector<Int, ContinuousClock>(configuration: hotspotConfiguration)
        return { index in hotspots.record(key(index)) }
    }
    recordPath("Hotspot: record, Int keys, Zipf s = 1.1 over 100,000") {
        let hotspots = try HotspotDetector<Int, ContinuousClock>(configuration: hotspotConfiguration)
        return { index in hotspots.record(zipfKeys[index % keyCount]) }
    }
    recordPath("Hotspot: record, String keys, 1,000,000 distinct") {
        let hotspots = try HotspotDetector<String, ContinuousClock>(configuration: .init(rule: .init(timesAverage: 50)))
        return { index in hotspots.record(stringKeys[key(index)]) }
    }
    Benchmark("Hotspot: hotKeys(), 64 candidates", configuration: .init(metrics: standardMetrics, timeUnits: .microseconds, scalingFactor: .kilo)) { benchmark in
        let hotspots = try HotspotDetector<Int, ContinuousClock>(configuration: hotspotConfiguration)
        for index in 0 ..< 2_000_000 { hotspots.record(index % 100 == 0 ? index % 64 : key(index)) }
        for _ in benchmark.scaledIterations { blackHole(hotspots.hotKeys()) }
    }

    Benchmark("Feature switch: isEnabled") { benchmark in
        let controller = try DegradationController(rules: [], features: [Feature("rerank")])
        let rerank = try controller.feature("rerank")
        for _ in benchmark.scaledIterations { blackHole(rerank.isEnabled) }
    }
    Benchmark("Feature switch: isEnabled(\"rerank\") by name") { benchmark in
        let controller = try DegradationController(rules: [], features: [Feature("rerank"), Feature("suggestions")])
        for _ in benchmark.scaledIterations { blackHole(controller.isEnabled("rerank")) }
    }

    // The policies that act on measurements, around a call that returns at once.
    let context = ResilienceContext(operationName: "call")
    Benchmark("Policy: fixed bulkhead") { benchmark in
        let bulkhead = try Bulkhead(limit: 100)
        for _ in benchmark.scaledIterations { blackHole(try await bulkhead.execute(context) { _ in 1 }) }
    }
    Benchmark("Policy: adaptive bulkhead (Vegas)") { benchmark in
        let bulkhead = try AdaptiveBulkhead(VegasLimit(configuration: .init(seed: 1)))
        for _ in benchmark.scaledIterations { blackHole(try await bulkhead.execute(context) { _ in 1 }) }
    }
    Benchmark("Policy: adaptive bulkhead (Gradient2)") { benchmark in
        let bulkhead = try AdaptiveBulkhead(Gradient2Limit(configuration: .init()))
        for _ in benchmark.scaledIterations { blackHole(try await bulkhead.execute(context) { _ in 1 }) }
    }
    Benchmark("Policy: system protection") { benchmark in
        let protection = try SystemProtection(configuration: .init(concurrency: .always))
        for _ in benchmark.scaledIterations { blackHole(try await protection.execute(context) { _ in 1 }) }
    }
    Benchmark("Policy: health gate") { benchmark in
        let health = try HealthChecker(dependencies: [HealthCheckedDependency("provider")])
        let gate = try health.gate("provider")
        for _ in benchmark.scaledIterations { blackHole(try await gate.execute(context) { _ in 1 }) }
    }
}
