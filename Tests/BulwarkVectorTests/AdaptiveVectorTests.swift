import Bulwark
import Foundation
import Testing

/// `Tests/Vectors/adaptive.json`, written by an independent Python transcription of Netflix
/// concurrency-limits' Java (`Tests/Vectors/adaptive.py`): every step's limit, and the estimate
/// and no-load round trip where the algorithm has them, bit for bit.
@Suite("Adaptive-limit vectors")
struct AdaptiveVectorTests {
    struct Step: Decodable, Sendable {
        var roundTrip: Int64
        var inFlight: Int
        var dropped: Bool
        var limit: Int
        var estimatedLimit: Double?
        var noLoadRoundTrip: Int64?
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var config: JSONValue
        var steps: [Step]
        var testDescription: String { name }
    }

    static let cases: [Case] = PolicyVectorTests.load("adaptive")

    /// Runs the steps through `limit`, checking each; `figures` reads the estimate and no-load
    /// round trip where the algorithm has them.
    func check<L: AdaptiveLimit>(_ vector: Case, _ limit: L, figures: (L) -> (Double?, Int64?)) {
        var limit = limit
        for (index, step) in vector.steps.enumerated() {
            limit.update(LimitSample(startedAt: 0, roundTrip: step.roundTrip, inFlight: step.inFlight, dropped: step.dropped))
            let (estimate, noLoad) = figures(limit)
            #expect(limit.limit == step.limit, "step \(index)")
            if let expected = step.estimatedLimit { #expect(estimate == expected, "step \(index)") }
            if let expected = step.noLoadRoundTrip { #expect(noLoad == expected, "step \(index)") }
            if limit.limit != step.limit { return }
        }
    }

    @Test("adaptive limits", arguments: cases)
    func adaptive(_ vector: Case) throws {
        let c = vector.config
        switch c["type"].string {
        case "aimd":
            let aimd = try AIMDLimit(configuration: .init(
                initialLimit: c["initialLimit"].int, minimumLimit: c["minimumLimit"].int, maximumLimit: c["maximumLimit"].int,
                backoffRatio: c["backoffRatio"].optionalDouble ?? 0, timeout: .nanoseconds(c["timeout"].int64)
            ))
            check(vector, aimd) { _ in (nil, nil) }
        case "vegas":
            let vegas = try VegasLimit(configuration: .init(
                initialLimit: c["initialLimit"].int, maximumLimit: c["maximumLimit"].int,
                smoothing: c["smoothing"].optionalDouble ?? 0, alpha: c["alpha"].optionalInt, beta: c["beta"].optionalInt,
                probeMultiplier: c["probeMultiplier"].int, seed: UInt64(c["seed"].int64)
            ))
            check(vector, vegas) { ($0.estimatedLimit, $0.noLoadRoundTrip) }
        default:
            let gradient = try Gradient2Limit(configuration: .init(
                initialLimit: c["initialLimit"].int, minimumLimit: c["minimumLimit"].int, maximumLimit: c["maximumLimit"].int,
                smoothing: c["smoothing"].optionalDouble ?? 0, queueSize: c["queueSize"].int,
                rttTolerance: c["rttTolerance"].optionalDouble ?? 0, longWindow: c["longWindow"].int
            ))
            check(vector, gradient) { ($0.estimatedLimit, nil) }
        }
    }

    @Test("the file holds every algorithm's cases")
    func fileIsLoaded() {
        let types = Set(Self.cases.map { $0.config["type"].string })
        #expect(types == ["aimd", "vegas", "gradient2"])
        #expect(Self.cases.map(\.steps.count).reduce(0, +) >= 2_500)
    }
}
