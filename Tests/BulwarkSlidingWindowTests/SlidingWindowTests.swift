import BulwarkFixedWindow
import BulwarkSlidingWindow
import BulwarkTestSupport
import Testing

/// A random trace of (time, cost) arrivals: bursts and gaps around the window's length.
func trace(_ random: inout SplitMix64, window: Int64, limit: Int, steps: Int) -> [(Int64, Int)] {
    var now: Int64 = 0
    return (0 ..< steps).map { _ in
        now += Int.random(in: 0 ..< 4, using: &random) == 0 ? Int64.random(in: 0 ... window, using: &random)
            : Int64.random(in: 0 ... window / 50 + 1, using: &random)
        return (now, Int.random(in: 1 ... max(1, limit / 4), using: &random))
    }
}

@Suite("Sliding window: log")
struct SlidingWindowLogTests {
    @Test("what was admitted in any window never exceeds the limit, and retry-after is exact", arguments: 1 ... 30)
    func exact(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = Int.random(in: 1 ... 60, using: &random)
        let window = Int64.random(in: 1_000 ... 2_000_000_000, using: &random)
        var log = try SlidingWindowLog(configuration: .init(limit: limit, window: .nanoseconds(window)), now: 0)
        var admitted: [(Int64, Int)] = []
        for (at, cost) in trace(&random, window: window, limit: limit, steps: 800) {
            let decision = log.tryConsume(cost, at: at)
            if decision.isAllowed {
                admitted.append((at, cost))
                let inWindow = admitted.filter { $0.0 > at - window }.map(\.1).reduce(0, +)
                #expect(inWindow <= limit)
                #expect(decision.remaining == limit - inWindow)
            } else {
                let wait = decision.retryAfterNanoseconds
                var early = log
                #expect(!early.tryConsume(cost, at: at + wait - 1).isAllowed)
                var onTime = log
                #expect(onTime.tryConsume(cost, at: at + wait).isAllowed)
            }
            #expect(log.state.log.count <= limit)
        }
    }

    @Test("refunds remove from the entry admitted at that reading; a charge is debt that leaves with the window")
    func refundAndCharge() throws {
        var log = try SlidingWindowLog(configuration: .init(limit: 10, window: .seconds(1)), now: 0)
        _ = log.tryConsume(4, at: 0)
        _ = log.tryConsume(4, at: 100)
        log.refund(4, admittedAt: 0, at: 200)
        #expect(log.state.log.count == 1 && log.tryConsume(0, at: 200).remaining == 6)
        log.charge(20, at: 300)                                        // capped: twice the limit in all
        #expect(log.state.total == 20)
        let denied = log.tryConsume(1, at: 400)
        #expect(!denied.isAllowed && denied.retryAfterNanoseconds == 1_000_000_300 - 400)
        #expect(log.isFresh(at: 1_000_000_300) && !log.isFresh(at: 1_000_000_299))
    }
}

@Suite("Sliding window: counter")
struct SlidingWindowCounterTests {
    @Test("retry-after is the first nanosecond the decaying estimate lets the request in", arguments: 1 ... 20)
    func exactRetryAfter(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = Int.random(in: 1 ... 100, using: &random)
        let window = Int64.random(in: 1_000 ... 1_000_000_000, using: &random)
        var counter = try SlidingWindowCounter(configuration: .init(limit: limit, window: .nanoseconds(window)), now: 0)
        for (at, cost) in trace(&random, window: window, limit: limit, steps: 500) {
            let decision = counter.tryConsume(cost, at: at)
            guard !decision.isAllowed else { continue }
            let wait = decision.retryAfterNanoseconds
            #expect(wait > 0 && wait <= 2 * window)
            var early = counter
            #expect(!early.tryConsume(cost, at: at + wait - 1).isAllowed)
            var onTime = counter
            #expect(onTime.tryConsume(cost, at: at + wait).isAllowed)
        }
    }

    @Test("against the exact log on a bursty trace: how often it disagrees, and how far above the limit it lets the true count go")
    func errorAgainstLog() throws {
        // 100 per minute; a day of traffic in bursts (the measurement quoted in the guide).
        let limit = 100
        let window: Int64 = 60_000_000_000
        var random = SplitMix64(seed: 2026)
        var counter = try SlidingWindowCounter(configuration: .init(limit: limit, window: .nanoseconds(window)), now: 0)
        var log = try SlidingWindowLog(configuration: .init(limit: limit, window: .nanoseconds(window)), now: 0)
        var admittedByCounter: [Int64] = []
        var decisions = 0
        var disagreements = 0
        var worst = 0
        var now: Int64 = 0
        while now < 86_400_000_000_000 {
            // Bursts of 1 to 40 calls a few hundred milliseconds apart, then a pause of up to 40 s.
            for _ in 0 ..< Int.random(in: 1 ... 40, using: &random) {
                now += Int64.random(in: 0 ... 300_000_000, using: &random)
                let byCounter = counter.tryConsume(1, at: now).isAllowed
                let byLog = log.tryConsume(1, at: now).isAllowed
                decisions += 1
                if byCounter != byLog { disagreements += 1 }
                if byCounter {
                    admittedByCounter.append(now)
                    let first = admittedByCounter.firstIndex { $0 > now - window } ?? admittedByCounter.count
                    admittedByCounter.removeFirst(first)
                    worst = max(worst, admittedByCounter.count)
                }
            }
            now += Int64.random(in: 0 ... 40_000_000_000, using: &random)
        }
        let rate = Double(disagreements) / Double(decisions)
        print("sliding-window counter vs log: \(decisions) decisions, \(disagreements) disagree (\(rate * 100)%), worst true count \(worst)/\(limit)")
        #expect(worst < 2 * limit)
        #expect(rate < 0.05)
    }
}

@Suite("Sliding window: segmented")
struct SegmentedWindowTests {
    @Test("with one segment it is the fixed window", arguments: 1 ... 10)
    func oneSegmentIsFixed(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = Int.random(in: 1 ... 50, using: &random)
        let window = Int64.random(in: 1_000 ... 1_000_000_000, using: &random)
        var segmented = try SegmentedWindow(configuration: .init(limit: limit, window: .nanoseconds(window), segments: 1), now: 0)
        var fixed = try FixedWindow(configuration: .init(limit: limit, window: .nanoseconds(window)), now: 0)
        for (at, cost) in trace(&random, window: window, limit: limit, steps: 500) {
            #expect(segmented.tryConsume(cost, at: at) == fixed.tryConsume(cost, at: at))
        }
    }

    @Test("no span shorter than window − segment ever holds more than the limit; retry-after is exact", arguments: 1 ... 20)
    func bounded(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = Int.random(in: 1 ... 80, using: &random)
        let segments = Int.random(in: 1 ... 12, using: &random)
        let segment = Int64.random(in: 100 ... 500_000_000, using: &random)
        let window = segment * Int64(segments)
        var algorithm = try SegmentedWindow(configuration: .init(limit: limit, window: .nanoseconds(window), segments: segments), now: 0)
        var admitted: [(Int64, Int)] = []
        for (at, cost) in trace(&random, window: window, limit: limit, steps: 600) {
            let decision = algorithm.tryConsume(cost, at: at)
            if decision.isAllowed {
                admitted.append((at, cost))
                #expect(admitted.filter { $0.0 > at - (window - segment) }.map(\.1).reduce(0, +) <= limit)
            } else {
                let wait = decision.retryAfterNanoseconds
                var early = algorithm
                #expect(!early.tryConsume(cost, at: at + wait - 1).isAllowed)
                var onTime = algorithm
                #expect(onTime.tryConsume(cost, at: at + wait).isAllowed)
            }
        }
    }

    @Test("twelve segments of five seconds: a segment's count leaves whole, when the segment leaves the minute")
    func llmGatewayForm() throws {
        var tokens = try SegmentedWindow(configuration: .init(limit: 90_000, window: .seconds(60), segments: 12), now: 0)
        #expect(tokens.tryConsume(50_000, at: 2_000_000_000).remaining == 40_000)      // segment 0
        #expect(tokens.tryConsume(30_000, at: 7_000_000_000).remaining == 10_000)      // segment 1
        let denied = tokens.tryConsume(20_000, at: 30_000_000_000)
        #expect(!denied.isAllowed && denied.retryAfter == .seconds(30))               // segment 0 leaves at 60 s
        #expect(denied.resetAfter == .seconds(35))                                     // segment 1 leaves at 65 s
        #expect(tokens.tryConsume(20_000, at: 60_000_000_000).remaining == 40_000)
        tokens.refund(10_000, admittedAt: 7_000_000_000, at: 61_000_000_000)
        #expect(tokens.tryConsume(0, at: 61_000_000_000).remaining == 50_000)
    }

    @Test("an invalid configuration names the field and the rule")
    func invalidConfiguration() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "window", rule: "must be a whole multiple of segments 7 nanoseconds (got 60000000000 ns)")) {
            _ = try SegmentedWindow(configuration: .init(limit: 1, window: .seconds(60), segments: 7), now: 0)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "segments", rule: "must be between 1 and 4096 (got 0)")) {
            _ = try SegmentedWindow(configuration: .init(limit: 1, window: .seconds(60), segments: 0), now: 0)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "limit", rule: "× window must be at most 1152921504606846975 for exact arithmetic (got 1000000000000 × 3600000000000 ns)")) {
            _ = try SlidingWindowCounter(configuration: .init(limit: 1_000_000_000_000, window: .seconds(3_600)), now: 0)
        }
    }
}
