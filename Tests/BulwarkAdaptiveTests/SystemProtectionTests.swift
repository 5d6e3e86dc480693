@testable import BulwarkAdaptive
import BulwarkTestSupport
import BulwarkTestKit
import Synchronization
import Testing

@Suite("System protection", .timeLimit(minutes: 1))
struct SystemProtectionTests {
    @Test("refuses beyond best throughput × shortest latency, compared exactly, once a call completed")
    func concurrencyRule() throws {
        let clock = ManualClock()
        let protection = try SystemProtection(
            configuration: .init(concurrency: .always, window: .seconds(1), buckets: 10), clock: clock
        )
        // Nothing completed yet: nothing to judge by, everyone enters.
        for _ in 0 ..< 5 { #expect(protection.enter(at: clock.nowNanoseconds) == nil) }
        // Two calls of 50 ms complete in one 100 ms bucket: 20/s × 50 ms = 1 call's worth.
        clock.advance(by: .milliseconds(50))
        protection.exit(startedAt: 0, completed: true)
        protection.exit(startedAt: 0, completed: true)
        #expect(protection.inFlight == 3)
        #expect(protection.enter(at: clock.nowNanoseconds) == "concurrency")  // 3 > 1
        protection.exit(startedAt: 0, completed: false)
        protection.exit(startedAt: 0, completed: false)
        #expect(protection.inFlight == 1)
        #expect(protection.enter(at: clock.nowNanoseconds) == nil)  // one in flight: never refused
        #expect(protection.enter(at: clock.nowNanoseconds) == "concurrency")  // two: 2 × 100 ms > 2 × 50 ms
        let capacity = try #require(protection.capacity)
        #expect(capacity.throughputPerSecond == 20 && capacity.shortest == .milliseconds(50) && capacity.inFlight == 1)
        clock.advance(by: .seconds(1))  // the window has emptied: no measure, no refusal
        #expect(protection.capacity == nil)
        #expect(protection.enter(at: clock.nowNanoseconds) == nil)
    }

    @Test("by default the concurrency rule applies only while CPU is high; the CPU rule refuses everyone above its threshold")
    func cpuRules() async throws {
        let clock = ManualClock()
        let cpu = Signal()
        let protection = try SystemProtection(
            configuration: .init(cpuThreshold: 0.95), clock: clock, cpuUsage: { cpu.reading }
        )
        let events = EventRecorder()
        protection.events.attach(events)
        #expect(protection.enter(at: clock.nowNanoseconds) == nil)
        clock.advance(by: .milliseconds(10))
        protection.exit(startedAt: 0, completed: true)  // capacity: 10/s × 10 ms = 0.1 call
        _ = protection.enter(at: clock.nowNanoseconds)
        _ = protection.enter(at: clock.nowNanoseconds)
        #expect(protection.inFlight == 2)
        #expect(protection.enter(at: clock.nowNanoseconds) == nil)  // CPU unknown: not loaded
        cpu.set(0.5)
        #expect(protection.enter(at: clock.nowNanoseconds) == nil)  // below 0.7
        cpu.set(0.8)
        #expect(protection.enter(at: clock.nowNanoseconds) == "concurrency")
        cpu.set(0.96)
        let context = ResilienceContext(operationName: "x")
        await #expect(throws: BulwarkError.overloaded(reason: "cpu")) { try await protection.execute(context) { _ in 1 } }
        #expect(events.kinds == [.overloadRejected(reason: "cpu")])
        cpu.set(0.1)
        #expect(try await protection.execute(context) { _ in 2 } == 2)
    }

    @Test("a fixed maximum in flight; bad configuration is an error naming the field")
    func maximumAndValidation() async throws {
        let protection = try SystemProtection(configuration: .init(concurrency: .off, maximumInFlight: 1), clock: ManualClock())
        let gate = AsyncGate()
        let first = Task { try await protection.execute(ResilienceContext(operationName: "x")) { _ in await gate.wait(); return 1 } }
        while protection.inFlight == 0 { await Task.yield() }
        await #expect(throws: BulwarkError.overloaded(reason: "maximum in flight")) {
            try await protection.execute(ResilienceContext(operationName: "x")) { _ in 2 }
        }
        #expect(protection.readiness(for: ResilienceContext(operationName: "x")) == .notReady(retryAfter: nil))
        #expect(protection.inFlight == 1)
        await gate.open()
        #expect(try await first.value == 1)
        #expect(protection.inFlight == 0)
        #expect(throws: BulwarkError.invalidConfiguration(field: "cpuThreshold", rule: "must be a CPU fraction in 0 ... 1 (got 1.5)")) {
            try SystemProtection(configuration: .init(cpuThreshold: 1.5), clock: ManualClock())
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "concurrency", rule: "must be a CPU fraction in 0 ... 1 (got -1.0)")) {
            try SystemProtection(configuration: .init(concurrency: .whenCPUAbove(-1)), clock: ManualClock())
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "maximumInFlight", rule: "must be at least 1 (got 0)")) {
            try SystemProtection(configuration: .init(maximumInFlight: 0), clock: ManualClock())
        }
        // The default window of 1 s does not split into 3 whole-nanosecond buckets.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "buckets", rule: "must divide the window (1000000000 ns) into whole nanoseconds (got 3)"
        )) { try SystemProtection(configuration: .init(buckets: 3), clock: ManualClock()) }
    }
}
