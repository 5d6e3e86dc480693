import BulwarkAdaptive
import Testing

/// A sample of `milliseconds` with `inFlight` calls in flight.
func sample(_ milliseconds: Int64, inFlight: Int, dropped: Bool = false) -> LimitSample {
    LimitSample(startedAt: 0, roundTrip: milliseconds * 1_000_000, inFlight: inFlight, dropped: dropped)
}

@Suite("Adaptive limits: Netflix's arithmetic")
struct AdaptiveLimitTests {
    @Test("AIMD: +1 while at least half is in use, × backoff (truncated) on a drop or a timeout, clamped")
    func aimd() throws {
        var aimd = try AIMDLimit(configuration: .init(initialLimit: 10, minimumLimit: 1, maximumLimit: 12, timeout: .seconds(5)))
        aimd.update(sample(100, inFlight: 5))
        #expect(aimd.limit == 11)
        aimd.update(sample(100, inFlight: 5))  // 10 < 11: application-limited
        #expect(aimd.limit == 11)
        aimd.update(sample(100, inFlight: 11, dropped: true))
        #expect(aimd.limit == 9)  // ⌊11 × 0.9⌋
        aimd.update(sample(5_001, inFlight: 9))
        #expect(aimd.limit == 8)  // ⌊9 × 0.9⌋: slower than the timeout counts as a drop
        for _ in 0 ..< 10 { aimd.update(sample(100, inFlight: 12)) }
        #expect(aimd.limit == 12)  // the maximum
        for _ in 0 ..< 40 { aimd.update(sample(100, inFlight: 1, dropped: true)) }
        #expect(aimd.limit == 1)  // the minimum
    }

    @Test("Vegas: grows by beta with no queue, by log while the queue is under alpha, shrinks over beta or on a drop")
    func vegas() throws {
        var vegas = try VegasLimit(configuration: .init(initialLimit: 20, seed: 7))
        vegas.update(sample(100, inFlight: 20))  // the first sample sets the no-load round trip
        #expect(vegas.limit == 20 && vegas.noLoadRoundTrip == 100_000_000)
        vegas.update(sample(100, inFlight: 20))  // queue 0 <= threshold 1: + beta (6)
        #expect(vegas.limit == 26)
        vegas.update(sample(200, inFlight: 26))  // queue ⌈26 × ½⌉ = 13 > beta 6: − log (1)
        #expect(vegas.limit == 25)
        vegas.update(sample(110, inFlight: 25))  // queue ⌈25 × (1 − 100/110)⌉ = 3: alpha <= 3 <= beta, unchanged
        #expect(vegas.limit == 25)
        vegas.update(sample(100, inFlight: 10))  // fewer than half in flight: no upward drift
        #expect(vegas.limit == 25)
        vegas.update(sample(105, inFlight: 25))  // queue ⌈25 × (1 − 100/105)⌉ = 2: between threshold and alpha, + log
        #expect(vegas.limit == 26)
        vegas.update(sample(100, inFlight: 26, dropped: true))
        #expect(vegas.limit == 25)
        vegas.update(sample(50, inFlight: 25))  // faster: the new no-load round trip, limit unchanged
        #expect(vegas.limit == 25 && vegas.noLoadRoundTrip == 50_000_000)
    }

    @Test("Vegas: a probe adopts the sample's round trip as the no-load one, so a lasting rise is learned")
    func vegasProbe() throws {
        for seed: UInt64 in [1, 2, 3, 4] {
            var vegas = try VegasLimit(configuration: .init(initialLimit: 2, probeMultiplier: 1, seed: seed))
            vegas.update(sample(100, inFlight: 2))
            for _ in 0 ..< 5 { vegas.update(sample(300, inFlight: 2)) }
            #expect(vegas.noLoadRoundTrip == 300_000_000)
        }
    }

    @Test("Vegas: the same seed replays the same limits")
    func vegasReplays() throws {
        func run() throws -> [Int] {
            var vegas = try VegasLimit(configuration: .init(initialLimit: 10, probeMultiplier: 2, seed: 42))
            return (0 ..< 200).map { index in
                vegas.update(sample(Int64(100 + (index * 37) % 150), inFlight: vegas.limit))
                return vegas.limit
            }
        }
        #expect(try run() == run())
    }

    @Test("Gradient2: the limit moves by clamp(1.5 × long ÷ short, ½, 1) plus the queue, smoothed")
    func gradient2() throws {
        var gradient = try Gradient2Limit(configuration: .init(initialLimit: 20, minimumLimit: 5, maximumLimit: 200))
        gradient.update(sample(100, inFlight: 20))  // gradient 1: 20 × 0.8 + (20 + 4) × 0.2
        #expect(abs(gradient.estimatedLimit - 20.8) < 1e-9)
        gradient.update(sample(300, inFlight: 20))  // long = 200: 1.5 × 200 / 300 = 1
        #expect(abs(gradient.estimatedLimit - 21.6) < 1e-9 && gradient.limit == 21)
        gradient.update(sample(1000, inFlight: 21))  // long = 466.67: gradient 0.7
        #expect(abs(gradient.estimatedLimit - (21.6 * 0.8 + (21.6 * 0.7 + 4) * 0.2)) < 1e-9)
        let before = gradient.estimatedLimit
        gradient.update(sample(10_000, inFlight: 5))  // application-limited: unchanged
        #expect(gradient.estimatedLimit == before)
    }

    @Test("Gradient2: a long average more than twice the latest is cut by 5 %")
    func gradient2Decay() throws {
        var gradient = try Gradient2Limit(configuration: .init(initialLimit: 20, minimumLimit: 5, maximumLimit: 200))
        for _ in 0 ..< 10 { gradient.update(sample(1000, inFlight: 1)) }
        #expect(abs(gradient.longRoundTrip - 1e9) < 1e-3)
        gradient.update(sample(100, inFlight: 1))
        let factor = 2.0 / 601
        #expect(abs(gradient.longRoundTrip - (1e9 * (1 - factor) + 1e8 * factor) * 0.95) < 1e-3)
    }

    @Test("bounds that contradict each other are errors naming the field")
    func validation() {
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "initialLimit", rule: "must be between minimumLimit (20) and maximumLimit (200) (got 10)"
        )) { try AIMDLimit(configuration: .init(initialLimit: 10)) }
        #expect(throws: BulwarkError.invalidConfiguration(field: "backoffRatio", rule: "must be in 0.5 ..< 1 (got 0.4)")) {
            try AIMDLimit(configuration: .init(backoffRatio: 0.4))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "timeout", rule: "must be positive (got 0.0 seconds)")) {
            try AIMDLimit(configuration: .init(timeout: .zero))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "smoothing", rule: "must be in 0 < s <= 1 (got 0.0)")) {
            try VegasLimit(configuration: .init(smoothing: 0))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "beta", rule: "must be at least 5 (got 2)")) {
            try VegasLimit(configuration: .init(alpha: 5, beta: 2))
        }
        // Vegas has no minimum limit: its bounds are 1 ... maximumLimit (1000 by default).
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "initialLimit", rule: "must be between minimumLimit (1) and maximumLimit (1000) (got 2000)"
        )) { try VegasLimit(configuration: .init(initialLimit: 2000)) }
        #expect(throws: BulwarkError.invalidConfiguration(field: "rttTolerance", rule: "must be at least 1 (got 0.9)")) {
            try Gradient2Limit(configuration: .init(rttTolerance: 0.9))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "minimumLimit", rule: "must be at least 1 (got 0)")) {
            try Gradient2Limit(configuration: .init(minimumLimit: 0))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "longWindow", rule: "must be at least 1 (got 0)")) {
            try Gradient2Limit(configuration: .init(longWindow: 0))
        }
    }
}
