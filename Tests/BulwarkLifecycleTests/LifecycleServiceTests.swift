import BulwarkHealth
import BulwarkLifecycle
import BulwarkTestKit
import BulwarkTestSupport
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite("Lifecycle services")
struct LifecycleServiceTests {
    /// Counts runs (of a probe, or of the end of a task).
    final class Probe: Sendable {
        let count = Atomic<Int>(0)
        var runs: Int { count.load(ordering: .relaxed) }
        func run() { count.add(1, ordering: .relaxed) }
    }

    static func checker(_ probe: Probe, clock: ManualClock) throws -> HealthChecker<ManualClock> {
        var policy = HealthPolicy()
        policy.probeInterval = .seconds(1)
        return try HealthChecker(
            dependencies: [HealthCheckedDependency("p", policy: policy, probe: { probe.run() })],
            evaluationInterval: .seconds(1), clock: clock
        )
    }

    /// Moves the clock in small steps until `probe` has run `runs` times.
    static func drive(_ clock: ManualClock, until probe: Probe, runs: Int) async {
        while probe.runs < runs {
            await clock.waitForSleepers(count: 1)
            clock.advance(by: .milliseconds(100))
            await Task.yield()
        }
    }

    @Test("a health checker run as .service evaluates on its interval and returns on graceful shutdown")
    func gracefulShutdown() async throws {
        let clock = ManualClock()
        let probe = Probe()
        let health = try Self.checker(probe, clock: clock)
        let finished = Probe()
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await health.service.run()
                    finished.run()
                }
                await Self.drive(clock, until: probe, runs: 4)
                // The fourth probe is due one interval after the third: 3 s after the start.
                #expect(clock.nowNanoseconds >= 3_000_000_000 && clock.nowNanoseconds <= 3_100_000_000)
                let finishedEarly = finished.runs > 0
                #expect(!finishedEarly)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        let finishedAtShutdown = finished.runs > 0
        #expect(finishedAtShutdown)
    }

    @Test("the same work run bare in a task returns when the task is cancelled")
    func cancellation() async throws {
        let clock = ManualClock()
        let probe = Probe()
        let health = try Self.checker(probe, clock: clock)
        let task = Task { try await health.run() }
        await Self.drive(clock, until: probe, runs: 2)
        task.cancel()
        try await task.value
        let runs = probe.runs
        clock.advance(by: .seconds(10))
        await Task.yield()
        #expect(probe.runs == runs)
    }
}
