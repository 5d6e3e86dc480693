import BulwarkGCRA
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite("GCRA")
struct GCRATests {
    /// A random rate (often one that does not divide into nanoseconds) and burst.
    func randomConfiguration(_ random: inout SplitMix64) -> (GCRA.Configuration, TokenBucket.Configuration) {
        let rate = Int.random(in: 1 ... 100_000, using: &random)
        let period = Duration.nanoseconds(Int64.random(in: 1_000 ... 60_000_000_000, using: &random))
        let burst = Int.random(in: 1 ... 2_000, using: &random)
        return (.init(rate: rate, per: period, burst: burst), .init(capacity: burst, refill: rate, every: period))
    }

    @Test("with burst B it makes exactly the decisions of a full token bucket of capacity B", arguments: 1 ... 40)
    func sameAsTokenBucket(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let (gcraConfiguration, bucketConfiguration) = randomConfiguration(&random)
        var gcra = try GCRA(configuration: gcraConfiguration, now: 0)
        var bucket = try TokenBucket(configuration: bucketConfiguration, now: 0)
        var now: Int64 = 0
        var admitted: [Int64] = []
        for step in 0 ..< 600 {
            // Mostly forward, sometimes a reading from the past.
            let at = Int.random(in: 0 ..< 20, using: &random) == 0
                ? now - Int64.random(in: 0 ... 1_000_000, using: &random)
                : { now += Int64.random(in: 0 ... 50_000_000, using: &random); return now }()
            switch Int.random(in: 0 ..< 10, using: &random) {
            case 0 where !admitted.isEmpty:
                let amount = Int.random(in: 1 ... gcraConfiguration.burst, using: &random)
                gcra.refund(amount, admittedAt: admitted.last!, at: at)
                bucket.refund(amount, admittedAt: admitted.last!, at: at)
            case 1:
                let amount = Int.random(in: 1 ... 3 * gcraConfiguration.burst, using: &random)
                gcra.charge(amount, at: at)
                bucket.charge(amount, at: at)
            default:
                let cost = Int.random(in: 0 ... gcraConfiguration.burst, using: &random)
                let expected = bucket.tryConsume(cost, at: at)
                #expect(gcra.tryConsume(cost, at: at) == expected, "seed \(seed) step \(step) at \(at) cost \(cost)")
                if expected.isAllowed { admitted.append(gcra.updatedAt) }
            }
        }
    }

    @Test("the lock-free limiter makes the value's decisions on a manual clock", arguments: 1 ... 10)
    func lockFreeSameAsValue(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let (configuration, _) = randomConfiguration(&random)
        let clock = ManualClock()
        let limiter = try LockFreeGCRARateLimiter(configuration: configuration, clock: clock)
        var gcra = try GCRA(configuration: configuration, now: 0)
        for _ in 0 ..< 500 {
            clock.advance(by: .nanoseconds(Int64.random(in: 0 ... 20_000_000, using: &random)))
            let cost = Int.random(in: 0 ... configuration.burst, using: &random)
            #expect(try limiter.tryAcquire(cost: cost) == gcra.tryConsume(cost, at: clock.nowNanoseconds))
        }
    }

    @Test("the TAT's origin moves forward without changing a decision, over ten hours at a million units per second")
    func originMoves() throws {
        // 999,983 per second: a TAT unit is 1/999,983 ns, so the origin must move every ~38 minutes.
        let clock = ManualClock()
        let configuration = GCRA.Configuration(rate: 999_983, per: .seconds(1), burst: 5_000)
        let limiter = try LockFreeGCRARateLimiter(configuration: configuration, clock: clock)
        var gcra = try GCRA(configuration: configuration, now: 0)
        var bucket = try TokenBucket(configuration: .init(capacity: 5_000, refill: 999_983, every: .seconds(1)), now: 0)
        var random = SplitMix64(seed: 99)
        let end: Int64 = 10 * 3_600 * 1_000_000_000
        while clock.nowNanoseconds < end {
            clock.advance(by: .nanoseconds(Int64.random(in: 1 ... 60_000_000_000, using: &random)))
            for _ in 0 ..< 3 {
                let cost = Int.random(in: 1 ... 5_000, using: &random)
                let expected = bucket.tryConsume(cost, at: clock.nowNanoseconds)
                #expect(gcra.tryConsume(cost, at: clock.nowNanoseconds) == expected)
                #expect(try limiter.tryAcquire(cost: cost) == expected)
            }
        }
        #expect(gcra.state.origin > end - 3_600_000_000_000)
    }

    @Test("tasks racing the lock-free limiter take exactly the burst, then exactly the rate")
    func lockFreeConservation() async throws {
        let clock = ManualClock()
        let limiter = try LockFreeGCRARateLimiter(rate: 1_000, per: .seconds(1), burst: 3_000, clock: clock)
        let admitted = Counter()
        for round in 0 ..< 4 {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0 ..< 8 {
                    group.addTask {
                        for _ in 0 ..< 1_500 {
                            let cost = Int.random(in: 1 ... 3)
                            if (try? limiter.tryAcquire(cost: cost))?.isAllowed == true { admitted.add(cost) }
                        }
                    }
                }
            }
            let left = try limiter.tryAcquire(cost: 0).remaining
            #expect(admitted.value + left == 3_000 + 1_000 * round)
            #expect(left < 3)
            clock.advance(by: .seconds(1))
        }
        // Refund and charge move the TAT by whole intervals.
        let before = try limiter.tryAcquire(cost: 0).remaining
        limiter.refund(2)
        #expect(try limiter.tryAcquire(cost: 0).remaining == before + 2)
        limiter.charge(3)
        #expect(try limiter.tryAcquire(cost: 0).remaining == before - 1)
    }

    static let invalid: [(GCRA.Configuration, String, String)] = [
        (.init(rate: 0, per: .seconds(1)), "rate", "must be at least 1"),
        (.init(rate: 1, per: .zero), "period", "must be positive"),
        (.init(rate: 1, per: .seconds(1), burst: 0), "burst", "must be at least 1"),
        (.init(rate: 1, per: .seconds(1_000_000_000), burst: 1_000_000_000), "burst", "exact arithmetic"),
    ]

    @Test("an invalid configuration names the field and the rule", arguments: 0 ..< invalid.count)
    func invalidConfiguration(_ index: Int) {
        let (configuration, field, rule) = Self.invalid[index]
        #expect {
            _ = try LockFreeGCRARateLimiter(configuration: configuration, clock: ManualClock())
        } throws: { error in
            guard case .invalidConfiguration(let f, let r) = error as? BulwarkError else { return false }
            return f == field && r.contains(rule)
        }
    }

    @Test("a cost above the burst is an error, not a denial; execute refuses with the exact retry-after")
    func errorsAndExecute() async throws {
        let clock = ManualClock()
        let limiter = try LockFreeGCRARateLimiter(rate: 2, per: .seconds(1), burst: 2, clock: clock)
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at most the burst 2 (got 3)")) {
            _ = try limiter.tryAcquire(cost: 3)
        }
        let context = ResilienceContext(operationName: "call", cost: 2)
        #expect(try await limiter.execute(context) { _ in "ran" } == "ran")
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .milliseconds(500))) {
            try await limiter.execute(ResilienceContext(operationName: "call")) { _ in "ran" }
        }
    }
}
