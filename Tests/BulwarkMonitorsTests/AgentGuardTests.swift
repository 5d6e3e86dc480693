import BulwarkSimulations
import Testing

// A 30-minute simulation on a virtual clock: seconds in a plain build, far longer under the thread
// sanitizer on a loaded machine, hence a wide limit (it still fails rather than hangs).
@Suite("Agent task guard", .timeLimit(.minutes(5)))
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
