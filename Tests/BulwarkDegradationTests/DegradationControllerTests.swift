import BulwarkDegradation
import Foundation
import BulwarkMonitors
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Degradation controller", .timeLimit(minutes: 1))
struct DegradationControllerTests {
    func controller(dwell: Duration = .seconds(10)) throws -> (DegradationController<ManualClock>, Signal, Signal, ManualClock) {
        let clock = ManualClock()
        let errors = Signal()
        let cpu = Signal()
        let controller = try DegradationController(
            rules: [
                DegradationRule("errors", degraded: .init(enter: 0.1, exit: 0.05), critical: .init(enter: 0.3, exit: 0.2)) {
                    errors.reading
                },
                DegradationRule("cpu", critical: .init(enter: 0.95, exit: 0.8)) { cpu.reading },
            ],
            features: [Feature("rerank"), Feature("history", offAt: .critical)],
            minimumDwell: dwell,
            clock: clock
        )
        return (controller, errors, cpu, clock)
    }

    @Test("enter and exit thresholds: up at the entry, down only below the exit; the highest rule wins")
    func hysteresis() throws {
        let (controller, errors, cpu, clock) = try controller(dwell: .zero)
        let events = EventRecorder()
        controller.events.attach(events)
        errors.set(0.1)
        controller.evaluate()
        #expect(controller.level == .degraded)
        #expect(!controller.isEnabled("rerank") && controller.isEnabled("history"))
        errors.set(0.06)  // below the entry, above the exit: stays
        controller.evaluate()
        #expect(controller.level == .degraded)
        errors.set(0.35)
        controller.evaluate()
        #expect(controller.level == .critical && !controller.isEnabled("history"))
        errors.set(0.0)  // straight back to normal: below both exits
        controller.evaluate()
        #expect(controller.level == .normal)
        cpu.set(0.96)  // a rule with only a critical level jumps there
        controller.evaluate()
        #expect(controller.level == .critical)
        cpu.set(nil)  // unknown: the rule stays where it was
        clock.advance(by: .seconds(1))
        controller.evaluate()
        #expect(controller.level == .critical)
        cpu.set(0.5)
        controller.evaluate()
        #expect(controller.level == .normal && controller.isEnabled("rerank") && controller.isEnabled("history"))
        #expect(events.kinds.prefix(3) == [
            .degradationChanged(from: "normal", to: "degraded"),
            .featureSwitched(feature: "rerank", enabled: false),
            .degradationChanged(from: "degraded", to: "critical"),
        ])
    }

    @Test("a level is held for the minimum dwell; a change asked sooner is made once it has passed, if still asked")
    func dwell() throws {
        let (controller, errors, _, clock) = try controller(dwell: .seconds(10))
        errors.set(0.2)
        controller.evaluate()  // the starting normal counts as held: the first change is at once
        #expect(controller.level == .degraded)
        errors.set(0.0)
        clock.advance(by: .seconds(5))
        controller.evaluate()
        #expect(controller.level == .degraded)  // held 5 s of 10
        errors.set(0.2)
        clock.advance(by: .seconds(5))
        controller.evaluate()
        #expect(controller.level == .degraded)  // the rule asks for degraded again: no change
        errors.set(0.0)
        controller.evaluate()
        #expect(controller.level == .normal)
    }

    @Test("a hand forces a level or holds a feature, at once, until it lets go")
    func overrides() throws {
        let (controller, errors, _, _) = try controller()
        controller.force(.critical)
        #expect(controller.level == .critical && !controller.isEnabled("history"))
        try controller.override("history", .on)
        #expect(controller.isEnabled("history"))
        let history = try controller.feature("history")
        #expect(history.isEnabled)
        controller.force(nil)
        #expect(controller.level == .normal)
        try controller.override("rerank", .off)
        errors.set(0.0)
        controller.evaluate()
        #expect(!controller.isEnabled("rerank"))
        try controller.override("rerank", .automatic)
        #expect(controller.isEnabled("rerank"))
        #expect(controller.report().features == ["rerank": true, "history": true])
        #expect(throws: BulwarkError.invalidArgument(field: "name", rule: "must name a feature the controller was given (got \"nope\")")) {
            try controller.feature("nope")
        }
        #expect(!controller.isEnabled("nope"))
    }

    @Test("rules over the monitors: failure rate, p95 latency, CPU and memory")
    func overMonitors() throws {
        let clock = ManualClock()
        let errors = try ErrorRateMonitor(configuration: .init(window: .seconds(10), buckets: 10, minimumCalls: 4), clock: clock)
        let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6), clock: clock)
        let files = FakeFiles()
        files.machine(busy: 0, idle: 100, processTicks: 0, totalKB: 1000, availableKB: 50)  // 95 % of memory in use
        let resources = try ResourceMonitor(source: files, clock: clock)
        let controller = try DegradationController(
            rules: [
                .failureRate(of: errors, degraded: .init(enter: 0.25, exit: 0.1)),
                .latencyP95(of: latency, critical: .init(enter: 8, exit: 5)),
                .cpu(of: resources, critical: .init(enter: 0.9, exit: 0.8)),
                .memory(of: resources, degraded: .init(enter: 0.9, exit: 0.8)),
            ],
            minimumDwell: .zero, clock: clock
        )
        controller.evaluate()  // nothing known yet: every rule stays at normal
        #expect(controller.level == .normal)
        resources.sample()
        controller.evaluate()
        #expect(controller.report().rules == ["failure rate": .normal, "p95 latency": .normal, "cpu": .normal, "memory": .degraded])
        for failed in [true, false, false, false] { errors.record(failed: failed) }
        for _ in 0 ..< 20 { latency.record(.seconds(9)) }
        controller.evaluate()
        #expect(controller.report().rules["failure rate"] == .degraded && controller.level == .critical)
    }

    @Test("a NaN signal is unknown; levels encode as their names")
    func nanAndCoding() throws {
        let (controller, errors, _, _) = try controller(dwell: .zero)
        errors.set(0.5)
        controller.evaluate()
        errors.set(.nan)
        controller.evaluate()
        #expect(controller.level == .critical)
        let encoded = try JSONEncoder().encode([DegradationLevel.degraded])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"degraded\"]")
        #expect(try JSONDecoder().decode([DegradationLevel].self, from: encoded) == [.degraded])
    }

    @Test("bad rules and features are errors naming the field")
    func validation() {
        let clock = ManualClock()
        #expect(throws: BulwarkError.invalidConfiguration(field: "rules", rule: "x: the degraded exit (0.6) must be at most its entry (0.5)")) {
            try DegradationController(rules: [DegradationRule("x", degraded: .init(enter: 0.5, exit: 0.6)) { nil }], clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "rules", rule: "x: the critical entry must be at least the degraded entry")) {
            try DegradationController(
                rules: [DegradationRule("x", degraded: .init(enter: 0.5, exit: 0.4), critical: .init(enter: 0.3, exit: 0.2)) { nil }],
                clock: clock
            )
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "features", rule: "must have distinct names (\"a\" is used twice)")) {
            try DegradationController(rules: [], features: [Feature("a"), Feature("a")], clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "features", rule: "a: offAt must be degraded or critical")) {
            try DegradationController(rules: [], features: [Feature("a", offAt: .normal)], clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "minimumDwell", rule: "must be at least 0 (got -1.0 seconds)")) {
            try DegradationController(rules: [], minimumDwell: .seconds(-1), clock: clock)
        }
    }

    @Test("switch reads race level changes safely")
    func concurrentReads() async throws {
        let (controller, errors, _, _) = try controller(dwell: .zero)
        let rerank = try controller.feature("rerank")
        await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for index in 0 ..< 2_000 {
                    errors.set(index % 2 == 0 ? 0.5 : 0.0)
                    controller.evaluate()
                }
                return 0
            }
            for _ in 0 ..< 3 {
                group.addTask { (0 ..< 20_000).reduce(0) { count, _ in count + (rerank.isEnabled ? 1 : 0) } }
            }
            for await _ in group {}
        }
        #expect(controller.level == .normal && rerank.isEnabled)
    }
}
