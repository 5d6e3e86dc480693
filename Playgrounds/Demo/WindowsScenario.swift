// Scenario "windows": 150 calls in the last 20 s of a minute and 150 in the first 20 s of the next,
// against 100 per minute: the fixed window admits twice the limit across the boundary, the
// sliding log never more than the limit in any 60 s, the counter and the segmented window close to it.
import Bulwark

func windowsScenario() async throws {
    let limit = 100
    let window = Duration.seconds(60)
    var calls: [Int64] = []
    for index in 0 ..< 150 { calls.append(40 * second + Int64(index) * 20 * second / 150) }
    for index in 0 ..< 150 { calls.append(60 * second + Int64(index) * 20 * second / 150) }

    func run<A: RateLimitAlgorithm>(_ name: String, _ algorithm: A) {
        var algorithm = algorithm
        var admitted: [Int64] = []
        var firstDenialAfterBoundary: Int64?
        for at in calls {
            let decision = algorithm.tryConsume(1, at: at)
            if decision.isAllowed {
                admitted.append(at)
            } else if at >= 60 * second, firstDenialAfterBoundary == nil {
                firstDenialAfterBoundary = decision.retryAfterNanoseconds
            }
        }
        // The most admitted in any 60 s span: slide a window ending at each admission.
        var most = 0
        for (index, end) in admitted.enumerated() {
            most = max(most, index - (admitted.firstIndex { $0 > end - 60 * second } ?? index) + 1)
        }
        let wait = firstDenialAfterBoundary.map { seconds($0) } ?? "-"
        print("    \(leftAligned(name, 30)) \(padded(admitted.count, 8)) \(padded(most, 17)) \(padded(wait, 22))")
    }
    print("  100 per minute; 150 calls from 0:40 to 1:00, 150 from 1:00 to 1:20\n")
    print("    algorithm                      admitted  most in any 60 s  first retry-after past 1:00")
    run("fixed window", try FixedWindow(configuration: .init(limit: limit, window: window, epochNanoseconds: 0), now: 0))
    run("sliding-window log", try SlidingWindowLog(configuration: .init(limit: limit, window: window), now: 0))
    run("sliding-window counter", try SlidingWindowCounter(configuration: .init(limit: limit, window: window, epochNanoseconds: 0), now: 0))
    run("segmented window (12 × 5 s)", try SegmentedWindow(configuration: .init(limit: limit, window: window, segments: 12, epochNanoseconds: 0), now: 0))
    run("token bucket (100, 100 per min)", try TokenBucket(configuration: .init(capacity: limit, refill: limit, every: window), now: 0))
}
