import BulwarkMonitors
import BulwarkTestKit
import BulwarkTestSupport
import Synchronization
import Testing

@Suite("Error-rate monitor", .timeLimit(minutes: 1))
struct ErrorRateMonitorTests {
    func monitor(window: Duration = .seconds(10), buckets: Int = 10, minimumCalls: Int = 4) throws -> (ErrorRateMonitor<ManualClock>, ManualClock) {
        let clock = ManualClock()
        let monitor = try ErrorRateMonitor(
            configuration: .init(window: window, buckets: buckets, minimumCalls: minimumCalls), clock: clock
        )
        return (monitor, clock)
    }

    @Test("counts calls and failures; no rate below the minimum calls")
    func minimumCalls() throws {
        let (errors, _) = try monitor()
        errors.record(failed: true)
        errors.record(failed: false)
        errors.record(failed: true)
        #expect(errors.snapshot() == ErrorRateSnapshot(calls: 3, failures: 2, minimumCalls: 4))
        #expect(errors.snapshot().failureRate == nil)
        #expect(!errors.snapshot().failureRate(atLeast: 0.1))
        errors.record(failed: false)
        #expect(errors.snapshot().failureRate == 0.5)
        #expect(errors.snapshot().failureRate(atLeast: 0.5))
        #expect(!errors.snapshot().failureRate(atLeast: 0.51))
    }

    @Test("the window slides by whole buckets: a bucket leaves it exactly one window after it began")
    func sliding() throws {
        let (errors, clock) = try monitor()
        try errors.record(calls: 10, failures: 5)  // bucket [0, 1 s)
        clock.advance(by: .milliseconds(4_500))
        try errors.record(calls: 10, failures: 0)  // bucket [4 s, 5 s)
        clock.advance(by: .milliseconds(5_499))  // 9.999 s: both buckets in the window
        #expect(errors.snapshot().calls == 20)
        clock.advance(by: .milliseconds(1))  // 10 s: the first bucket has left
        #expect(errors.snapshot() == ErrorRateSnapshot(calls: 10, failures: 0, minimumCalls: 4))
        clock.advance(by: .seconds(5))  // 15 s: everything has left
        #expect(errors.snapshot().calls == 0)
        errors.record(failed: true)  // a recycled slot starts from zero
        #expect(errors.snapshot() == ErrorRateSnapshot(calls: 1, failures: 1, minimumCalls: 4))
    }

    @Test("a slot is recycled by the exchange that counts into it, however long the clock was idle")
    func longIdle() throws {
        let (errors, clock) = try monitor(window: .seconds(1), buckets: 4)
        for _ in 0 ..< 3 { errors.record(failed: true) }
        clock.advance(by: .seconds(3_600))
        errors.record(failed: false)
        #expect(errors.snapshot() == ErrorRateSnapshot(calls: 1, failures: 0, minimumCalls: 4))
    }

    @Test("bad configuration and arguments are errors naming the field")
    func validation() throws {
        let clock = ManualClock()
        #expect(throws: BulwarkError.invalidConfiguration(field: "window", rule: "must be positive (got 0.0 seconds)")) {
            try ErrorRateMonitor(configuration: .init(window: .zero), clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "buckets", rule: "must be between 1 and 10000 (got 0)")) {
            try ErrorRateMonitor(configuration: .init(buckets: 0), clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "buckets", rule: "must divide the window (10 ns) into whole nanoseconds (got 3)")) {
            try ErrorRateMonitor(configuration: .init(window: .nanoseconds(10), buckets: 3), clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "minimumCalls", rule: "must be at least 1 (got 0)")) {
            try ErrorRateMonitor(configuration: .init(minimumCalls: 0), clock: clock)
        }
        let errors = try ErrorRateMonitor(configuration: .init(), clock: clock)
        #expect(throws: BulwarkError.invalidArgument(field: "failures", rule: "must be between 0 and calls (1) (got 2)")) {
            try errors.record(calls: 1, failures: 2)
        }
        #expect(throws: BulwarkError.invalidArgument(field: "failures", rule: "must be between 0 and calls (-1) (got 0)")) {
            try errors.record(calls: -1, failures: 0)
        }
    }

    @Test("many tasks recording at once lose no call", arguments: [1, 4])
    func concurrentRecords(bucketsCrossed: Int) async throws {
        let (errors, clock) = try monitor(window: .seconds(100), buckets: 100, minimumCalls: 1)
        let perTask = 20_000
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 4 {
                group.addTask {
                    for index in 0 ..< perTask {
                        errors.record(failed: (index + task) % 4 == 0)
                        if task == 0, bucketsCrossed > 1, index % (perTask / bucketsCrossed) == 0 { clock.advance(by: .seconds(1)) }
                    }
                }
            }
        }
        #expect(errors.snapshot() == ErrorRateSnapshot(calls: 4 * perTask, failures: perTask, minimumCalls: 1))
    }
}
