import BulwarkLeakyBucket
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite("Leaky bucket: meter")
struct LeakyBucketMeterTests {
    @Test("the level rises with each request and drains with time; an overflow is refused with the exact wait")
    func meter() throws {
        var meter = try LeakyBucketMeter(configuration: .init(capacity: 10, drain: 2, every: .seconds(1)), now: 0)
        #expect(meter.tryConsume(8, at: 0).remaining == 2)
        #expect(meter.level(at: 0) == 8)
        let overflow = meter.tryConsume(5, at: 0)
        #expect(!overflow.isAllowed && overflow.retryAfter == .milliseconds(1_500))  // 3 units at 2 per second
        #expect(overflow.resetAfter == .seconds(4))                                  // until empty
        #expect(meter.level(at: 250_000_000) == 8)                                   // 7.5, rounded up
        #expect(meter.tryConsume(5, at: 1_500_000_000).isAllowed)
    }

    @Test("a meter admits exactly what the token bucket of the same capacity and rate admits", arguments: 1 ... 20)
    func sameAsTokenBucket(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let capacity = Int.random(in: 1 ... 500, using: &random)
        let drain = Int.random(in: 1 ... 1_000, using: &random)
        let period = Duration.nanoseconds(Int64.random(in: 1_000 ... 10_000_000_000, using: &random))
        let level = Int.random(in: 0 ... capacity, using: &random)
        var meter = try LeakyBucketMeter(configuration: .init(capacity: capacity, drain: drain, every: period, initialLevel: level), now: 0)
        var bucket = try TokenBucket(configuration: .init(capacity: capacity, refill: drain, every: period, initialTokens: capacity - level), now: 0)
        var now: Int64 = 0
        for _ in 0 ..< 500 {
            now += Int64.random(in: 0 ... 100_000_000, using: &random)
            let cost = Int.random(in: 0 ... capacity, using: &random)
            #expect(meter.tryConsume(cost, at: now) == bucket.tryConsume(cost, at: now))
        }
    }

    static let invalid: [(LeakyBucketMeter.Configuration, String, String)] = [
        (.init(capacity: 0, every: .seconds(1)), "capacity", "must be at least 1"),
        (.init(capacity: 5, drain: 0, every: .seconds(1)), "drainAmount", "must be at least 1"),
        (.init(capacity: 5, every: .zero), "drainPeriod", "must be positive"),
        (.init(capacity: 5, every: .seconds(1), initialLevel: 6), "initialLevel", "between 0 and capacity 5"),
        (.init(capacity: Int.max, drain: 1, every: .seconds(1)), "capacity", "exact arithmetic"),
    ]

    @Test("an invalid configuration names the field and the rule", arguments: 0 ..< invalid.count)
    func invalidConfiguration(_ index: Int) {
        let (configuration, field, rule) = Self.invalid[index]
        #expect {
            _ = try LeakyBucketMeter(configuration: configuration, now: 0)
        } throws: { error in
            guard case .invalidConfiguration(let f, let r) = error as? BulwarkError else { return false }
            return f == field && r.contains(rule)
        }
    }
}

@Suite("Leaky bucket: shaper", .timeLimit(minutes: 1))
struct LeakyBucketShaperTests {
    @Test("waiters are released at an even spacing, each at the exact nanosecond of its slot")
    func pacing() async throws {
        let clock = ManualClock()
        let pacer = try LeakyBucketShaperRateLimiter(rate: 40, per: .seconds(60), clock: clock)
        let released = Journal<Int64>()
        var tasks: [Task<Void, any Error>] = []
        for index in 0 ..< 5 {
            tasks.append(Task {
                try await pacer.acquire()
                released.append(clock.nowNanoseconds)
            })
            if index == 0 { await eventually { released.all.count == 1 } } else { await eventually { pacer.waitingCount == index } }
        }
        for slot in 1 ... 4 {
            await clock.waitForSleepers(count: 1)
            #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: Int64(slot) * 1_500_000_000))
            clock.advance(to: clock.nextDeadline!)
            await eventually { released.all.count == slot + 1 }
        }
        for task in tasks { try await task.value }
        #expect(released.all == [0, 1_500_000_000, 3_000_000_000, 4_500_000_000, 6_000_000_000])
    }

    @Test("a caller whose slot is further away than the maximum delay is refused at once with its retry-after")
    func maximumDelay() async throws {
        let clock = ManualClock()
        let pacer = try LeakyBucketShaperRateLimiter(rate: 1, per: .seconds(1), maximumDelay: .seconds(2), clock: clock)
        try await pacer.acquire()                                     // at 0, next slot at 1 s
        let second = Task { try await pacer.acquire() }               // slot 1 s
        await eventually { pacer.waitingCount == 1 }
        let third = Task { try await pacer.acquire() }                // slot 2 s: exactly the maximum
        await eventually { pacer.waitingCount == 2 }
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(3))) { try await pacer.acquire() }
        for slot in 1 ... 2 {
            await clock.waitForSleepers(count: 1)
            clock.advance(to: NanosecondInstant(nanoseconds: Int64(slot) * 1_000_000_000))
        }
        _ = try await (second.value, third.value)
    }

    @Test("releases stay on the exact grid of a fractional spacing for an hour: no drift")
    func noDrift() throws {
        var shaper = try LeakyBucketShaper(configuration: .init(rate: 3, per: .seconds(1)), now: 0)
        var last: Int64 = 0
        for release in 0 ..< 3 * 3_600 {
            // The k-th release is at ceil(k / 3 s), the first nanosecond its slot allows.
            let slot = (Int64(release) * 1_000_000_000 + 2) / 3
            if release > 0 {
                var early = shaper
                #expect(early.tryConsume(1, at: slot - 1).retryAfterNanoseconds == 1)
            }
            #expect(shaper.tryConsume(1, at: slot).isAllowed)
            last = slot
        }
        // The 10,800th release, an hour later, is still on the grid: 10,799 / 3 s, rounded up.
        #expect(last == 3_599_666_666_667)
    }

    @Test("a request of cost c occupies c spacings; an idle gap restarts the grid")
    func costsAndGaps() throws {
        var shaper = try LeakyBucketShaper(configuration: .init(rate: 10, per: .seconds(1), maximumCost: 5), now: 0)
        #expect(shaper.tryConsume(5, at: 0).isAllowed)
        #expect(shaper.tryConsume(1, at: 0).retryAfter == .milliseconds(500))
        #expect(shaper.tryConsume(1, at: 500_000_000).remaining == 0)
        // Idle until 10 s: the next release restarts the grid there.
        #expect(shaper.tryConsume(2, at: 10_000_000_003).isAllowed)
        #expect(shaper.tryConsume(1, at: 10_000_000_003).retryAfter == .milliseconds(200))
        #expect(shaper.isFresh(at: 10_200_000_004) && !shaper.isFresh(at: 10_200_000_003))
        #expect(throws: BulwarkError.invalidConfiguration(field: "maximumCost", rule: "must be at least 1 (got 0)")) {
            _ = try LeakyBucketShaper(configuration: .init(rate: 1, per: .seconds(1), maximumCost: 0), now: 0)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "maximumDelay", rule: "must be at least 0 (got -1.0 seconds)")) {
            _ = try LeakyBucketShaperRateLimiter(rate: 1, per: .seconds(1), maximumDelay: .seconds(-1), clock: ManualClock())
        }
    }
}
