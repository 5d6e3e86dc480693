import Bulwark
import Foundation
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite(.timeLimit(minutes: 1)) struct PipelineConfigurationTests {
    static let json = """
    {"stages": [
       {"timeout": {"seconds": 60}},
       {"retry": {"maximumAttempts": 3, "initialDelaySeconds": 0, "maximumDelaySeconds": 10}},
       {"circuitBreaker": {"failureRatePercent": 60, "minimumCalls": 2, "windowCalls": 4, "openSeconds": 30, "halfOpenProbes": 1}},
       {"rateLimiter": {"capacity": 40, "refill": 40, "periodSeconds": 60}},
       {"bulkhead": {"limit": 5}}
    ]}
    """

    @Test func aPipelineIsBuiltFromJSONAndReportsUnderItsName() async throws {
        let configuration = try JSONDecoder().decode(PipelineConfiguration.self, from: Data(Self.json.utf8))
        #expect(configuration.stages.map(\.kind) == ["timeout", "retry", "circuitBreaker", "rateLimiter", "bulkhead"])
        let recorder = EventRecorder()
        let pipeline = try configuration.build(clock: ManualClock(), observer: recorder, name: "chat")
        #expect(pipeline.stages.count == 5)
        let attempts = Counter()
        let value = try await pipeline.execute(ResilienceContext(operationName: "x")) { context in
            attempts.add(1)
            if context.attempt < 2 { throw Flaky(attempt: context.attempt) }
            return context.attempt
        }
        #expect(value == 2 && attempts.value == 2)
        #expect(recorder.events.map(\.source) == ["chat.retry"])
    }

    @Test func anAdaptiveBulkheadIsBuiltFromJSON() async throws {
        let json = #"{"stages": [{"adaptiveBulkhead": {"algorithm": "vegas", "initialLimit": 3, "maximumLimit": 50}}]}"#
        let configuration = try JSONDecoder().decode(PipelineConfiguration.self, from: Data(json.utf8))
        #expect(configuration.stages.map(\.kind) == ["adaptiveBulkhead"])
        let pipeline = try configuration.build(clock: ManualClock())
        let bulkhead = try #require(pipeline.stages.first as? AdaptiveBulkhead<VegasLimit, ManualClock>)
        #expect(bulkhead.currentLimit == 3 && bulkhead.maximumLimit == 50)
        #expect(try await pipeline.execute(ResilienceContext(operationName: "x")) { _ in 7 } == 7)
        #expect {
            _ = try PipelineConfiguration(stages: [.adaptiveBulkhead(algorithm: "bbr")]).build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[0].adaptiveBulkhead.algorithm"
        }
    }

    @Test func aBadFieldIsNamedWithItsStage() throws {
        let configuration = PipelineConfiguration(stages: [.timeout(seconds: 5), .retry(maximumAttempts: 0)])
        #expect {
            _ = try configuration.build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[1].retry.maximumAttempts"
        }
        #expect {
            _ = try PipelineConfiguration(stages: [.timeout(seconds: -1)]).build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[0].timeout.seconds"
        }
    }
}
