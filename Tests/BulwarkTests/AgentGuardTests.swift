import BulwarkSimulations
import BulwarkTestSupport
import Testing

// A 30-minute simulation on a virtual clock, driven by one task: seconds in a plain build, but
// minutes of one busy thread under the thread sanitizer, which starved the suites beside it on a
// loaded two-core machine. Its concurrency is the guard's parts', each tested under the sanitizer
// on its own; the simulation's arithmetic is what this checks, so it runs in plain builds only.
@Suite("Agent task guard", .timeLimit(minutes: 2), .disabled(if: isThreadSanitized, "a long simulation; its parts are tested under TSan"))
struct AgentGuardTests {
    @Test("half an hour at 135 tasks/min: while every provider is up, all four targets hold; the outage costs tasks")
    func targets() async throws {
        let report = try await runAgentGuard(tasksPerMinute: 135, minutes: 30)
        let up = try #require(report.phases.first { $0.name == "all providers up" })
        #expect(up.rateLimitHits == 0)
        #expect(up.utilisation >= 0.85 && up.utilisation <= 0.95)
        #expect(up.meanWait < 10)
        #expect(up.successRate > 0.99)
        let down = try #require(report.phases.first { $0.name == "anthropic down" })
        #expect(down.successRate < 0.99 && down.rateLimitHits == 0)
        #expect(report.healthEvents.count == 2)  // disabled just after minute 20, re-enabled after 30
    }
}
