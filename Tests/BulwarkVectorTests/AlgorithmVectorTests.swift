import Bulwark
import BulwarkTestKit
import Testing

/// Every algorithm's vector file, run by the pure value (every case) and by the in-memory limiter
/// on a manual clock (the cases whose clock never goes back).
@Suite("Algorithm test vectors")
struct AlgorithmVectorTests {
    @Test("token bucket", arguments: VectorFile.cases(of: TokenBucket.vectorFile))
    func tokenBucket(_ vector: VectorFile.Case) throws { try check(TokenBucket.self, vector) }

    @Test("leaky-bucket meter", arguments: VectorFile.cases(of: LeakyBucketMeter.vectorFile))
    func leakyBucketMeter(_ vector: VectorFile.Case) throws { try check(LeakyBucketMeter.self, vector) }

    @Test("leaky-bucket shaper", arguments: VectorFile.cases(of: LeakyBucketShaper.vectorFile))
    func leakyBucketShaper(_ vector: VectorFile.Case) throws { try check(LeakyBucketShaper.self, vector) }

    @Test("GCRA", arguments: VectorFile.cases(of: GCRA.vectorFile))
    func gcra(_ vector: VectorFile.Case) throws {
        try check(GCRA.self, vector)
        if vector.monotonicClock { try checkLockFree(vector) }
    }

    @Test("fixed window", arguments: VectorFile.cases(of: FixedWindow.vectorFile))
    func fixedWindow(_ vector: VectorFile.Case) throws { try check(FixedWindow.self, vector) }

    @Test("sliding-window log", arguments: VectorFile.cases(of: SlidingWindowLog.vectorFile))
    func slidingWindowLog(_ vector: VectorFile.Case) throws { try check(SlidingWindowLog.self, vector) }

    @Test("sliding-window counter", arguments: VectorFile.cases(of: SlidingWindowCounter.vectorFile))
    func slidingWindowCounter(_ vector: VectorFile.Case) throws { try check(SlidingWindowCounter.self, vector) }

    @Test("segmented window", arguments: VectorFile.cases(of: SegmentedWindow.vectorFile))
    func segmentedWindow(_ vector: VectorFile.Case) throws { try check(SegmentedWindow.self, vector) }

    @Test("concurrency limit", arguments: VectorFile.cases(of: ConcurrencyLimit.vectorFile))
    func concurrency(_ vector: VectorFile.Case) throws { try check(ConcurrencyLimit.self, vector) }

    @Test("every file holds enough cases and steps")
    func filesAreLoaded() {
        let files = [TokenBucket.vectorFile, LeakyBucketMeter.vectorFile, LeakyBucketShaper.vectorFile, GCRA.vectorFile,
                     FixedWindow.vectorFile, SlidingWindowLog.vectorFile, SlidingWindowCounter.vectorFile,
                     SegmentedWindow.vectorFile, ConcurrencyLimit.vectorFile]
        for file in files {
            let cases = VectorFile.cases(of: file)
            #expect(cases.count >= 10, "\(file)")
            #expect(cases.map(\.steps.count).reduce(0, +) >= 1_000, "\(file)")
        }
    }

    /// Runs the case through the pure value, then (clock never going back) through the limiter.
    private func check<A: VectorSubject>(_ type: A.Type, _ vector: VectorFile.Case) throws {
        var algorithm = try A(configuration: A.configuration(vector.config), now: 0)
        for (index, step) in vector.steps.enumerated() {
            switch step.operation {
            case "acquire": expect(algorithm.tryConsume(step.cost ?? 0, at: step.at), step, index, "pure")
            case "refund", "release": algorithm.refund(step.cost ?? 0, admittedAt: step.admittedAt ?? step.at, at: step.at)
            case "charge": algorithm.charge(step.cost ?? 0, at: step.at)
            default: Issue.record("unknown operation \(step.operation)")
            }
        }
        guard vector.monotonicClock else { return }
        let clock = ManualClock()
        let limiter = try InMemoryRateLimiter<A, ManualClock>(configuration: A.configuration(vector.config), clock: clock)
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            switch step.operation {
            case "acquire": expect(try limiter.tryAcquire(cost: step.cost ?? 0), step, index, "limiter")
            case "refund", "release": limiter.refund(step.cost ?? 0, admittedAt: step.admittedAt ?? step.at, at: step.at)
            case "charge": limiter.charge(step.cost ?? 0, at: step.at)
            default: Issue.record("unknown operation \(step.operation)")
            }
        }
    }

    /// Runs a GCRA case through the lock-free limiter on a manual clock.
    private func checkLockFree(_ vector: VectorFile.Case) throws {
        let clock = ManualClock()
        let limiter = try LockFreeGCRARateLimiter(configuration: GCRA.configuration(vector.config), clock: clock)
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            switch step.operation {
            case "acquire": expect(try limiter.tryAcquire(cost: step.cost ?? 0), step, index, "lock-free")
            case "refund": limiter.refund(step.cost ?? 0)
            case "charge": limiter.charge(step.cost ?? 0)
            default: Issue.record("unknown operation \(step.operation)")
            }
        }
    }

    private func expect(_ decision: RateLimitDecision, _ step: VectorFile.Step, _ index: Int, _ form: String) {
        let expected = "allowed=\(step.allowed ?? false) remaining=\(step.remaining?.int ?? -1) "
            + "retryAfter=\(step.retryAfter ?? -1) resetAfter=\(step.resetAfter ?? -1)"
        let actual = "allowed=\(decision.isAllowed) remaining=\(decision.remaining) "
            + "retryAfter=\(decision.retryAfterNanoseconds) resetAfter=\(decision.resetAfterNanoseconds)"
        #expect(actual == expected, "\(form) step \(index) at \(step.at) cost \(step.cost ?? 0)")
    }
}
