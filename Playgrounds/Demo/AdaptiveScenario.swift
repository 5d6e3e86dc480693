// Scenario "adaptive": a service with ten parallel slots, processor-shared beyond them (latency
// grows as 100 ms × in-flight / 10 past the knee), driven by clients that always want more; the
// limit of each adaptive algorithm, every 1,000 completed calls.
import Bulwark
import BulwarkSimulations
import BulwarkTestKit

func adaptiveScenario() async throws {
    print("  the knee is at 10 in flight; each call's work varies by ±20 %; the limit after every 1,000 calls:\n")
    let estimators: [(String, any AdaptiveLimit)] = [
        ("Vegas", try VegasLimit(configuration: .init(initialLimit: 4, maximumLimit: 200, seed: 1))),
        ("Gradient2", try Gradient2Limit(configuration: .init(initialLimit: 4, minimumLimit: 1, maximumLimit: 200))),
        ("AIMD, 200 ms timeout", try AIMDLimit(configuration: .init(initialLimit: 4, minimumLimit: 1, maximumLimit: 200, timeout: .milliseconds(200)))),
    ]
    for (name, estimator) in estimators {
        let trace = try trace(estimator)
        print("  \(leftAligned(name, 21)) " + trace.map { padded($0, 3) }.joined(separator: " "))
    }
    print("\n  Vegas settles a few calls above the knee (its queue estimate between alpha 3 and beta 6); Gradient2, as")
    print("  Netflix's, only resists rises in latency and climbs to its maximum once the higher latency is the norm;")
    print("  AIMD backs off on every call slower than its timeout: a sawtooth from 1 to about twice the knee.")
}

func trace<E: AdaptiveLimit>(_ estimator: E) throws -> [Int] {
    let clock = ManualClock()
    let bulkhead = try AdaptiveBulkhead(estimator, clock: clock)
    return simulate(bulkhead, clock: clock, knee: 10, base: 100_000_000, completions: 20_000, every: 1_000)
}
