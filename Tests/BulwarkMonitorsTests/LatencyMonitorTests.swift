import BulwarkMonitors
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Latency monitor", .timeLimit(minutes: 1))
struct LatencyMonitorTests {
    @Test("percentiles within the configured precision")
    func percentiles() throws {
        let clock = ManualClock()
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6), clock: clock)
        #expect(latency.snapshot().count == 0 && latency.snapshot().p99 == .zero)
        for millisecond in 1 ... 1000 { latency.record(.milliseconds(millisecond)) }
        let snapshot = latency.snapshot()
        #expect(snapshot.count == 1000)
        func within(_ value: Duration, _ expected: Duration) -> Bool {
            abs(value.saturatingNanoseconds - expected.saturatingNanoseconds) <= expected.saturatingNanoseconds / 100
        }
        #expect(within(snapshot.p50, .milliseconds(500)))
        #expect(within(snapshot.p95, .milliseconds(950)))
        #expect(within(snapshot.p99, .milliseconds(990)))
        #expect(within(snapshot.max, .milliseconds(1000)))
        #expect(within(snapshot.min, .milliseconds(1)))
    }

    @Test("old histograms leave the window as the clock turns; a slow minute is forgotten a window later")
    func rotation() throws {
        let clock = ManualClock()
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6), clock: clock)
        for _ in 0 ..< 100 { latency.record(.seconds(5)) }
        clock.advance(by: .seconds(30))
        for _ in 0 ..< 100 { latency.record(.milliseconds(100)) }
        #expect(latency.snapshot().count == 200)
        #expect(latency.snapshot().max >= .seconds(5))
        clock.advance(by: .seconds(30))  // 60 s: the slow bucket [0, 10 s) has left
        let snapshot = latency.snapshot()
        #expect(snapshot.count == 100 && snapshot.max < .milliseconds(102))
        clock.advance(by: .seconds(600))
        latency.record(.milliseconds(7))  // lands in a slot holding an old bucket: cleared first
        #expect(latency.snapshot().count == 1)
    }

    @Test("values outside the range still count: above the highest as the highest")
    func range() throws {
        let latency = try LatencyMonitor(
            configuration: .init(lowest: .microseconds(1), highest: .seconds(10)), clock: ManualClock()
        )
        latency.record(.seconds(100))
        latency.record(.nanoseconds(-5))
        latency.record(.nanoseconds(3))
        let snapshot = latency.snapshot()
        #expect(snapshot.count == 3)
        #expect(snapshot.max >= .seconds(10) && snapshot.max <= .milliseconds(10_100))
    }

    @Test("measure times the body on the monitor's clock, whether it returns or throws")
    func measure() async throws {
        let clock = ManualClock()
        let latency = try LatencyMonitor(configuration: .init(), clock: clock)
        let value = await latency.measure { () async -> Int in
            clock.advance(by: .milliseconds(250))
            return 7
        }
        #expect(value == 7)
        struct Failure: Error {}
        await #expect(throws: Failure.self) {
            try await latency.measure { () async throws -> Int in
                clock.advance(by: .milliseconds(750))
                throw Failure()
            }
        }
        let snapshot = latency.snapshot()
        #expect(snapshot.count == 2)
        #expect(snapshot.min >= .milliseconds(248) && snapshot.min <= .milliseconds(252))
        #expect(snapshot.max >= .milliseconds(745) && snapshot.max <= .milliseconds(755))
    }

    @Test("bad configuration is an error naming the field")
    func validation() {
        let clock = ManualClock()
        #expect(throws: BulwarkError.invalidConfiguration(field: "significantDigits", rule: "must be 1, 2 or 3 (got 5)")) {
            try LatencyMonitor(configuration: .init(significantDigits: 5), clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "lowest", rule: "must be positive (got 0.0 seconds)")) {
            try LatencyMonitor(configuration: .init(lowest: .zero), clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "highest", rule: "must be at least twice lowest (1.0 seconds) (got 1.0 seconds)")) {
            try LatencyMonitor(configuration: .init(lowest: .seconds(1), highest: .seconds(1)), clock: clock)
        }
        // The default window of 60 s does not split into 7 whole-nanosecond buckets (60e9 = 7 × 8571428571 + 3).
        #expect(throws: BulwarkError.invalidConfiguration(field: "buckets", rule: "must divide the window (60000000000 ns) into whole nanoseconds (got 7)")) {
            try LatencyMonitor(configuration: .init(buckets: 7), clock: clock)
        }
    }

    @Test("many tasks recording at once lose no value")
    func concurrentRecords() async throws {
        let clock = ManualClock()
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(600), buckets: 60), clock: clock)
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 4 {
                group.addTask {
                    for index in 0 ..< 10_000 {
                        latency.record(.microseconds(100 + index % 50))
                        if task == 0, index % 2_500 == 0 { clock.advance(by: .seconds(1)) }
                    }
                }
            }
        }
        #expect(latency.snapshot().count == 40_000)
    }
}
