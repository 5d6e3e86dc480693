import BulwarkFixedWindow
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Fixed window")
struct FixedWindowTests {
    @Test("no aligned window ever admits more than the limit, the first one after start-up included", arguments: 1 ... 30)
    func neverAboveLimit(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let limit = Int.random(in: 1 ... 50, using: &random)
        let window = Int64.random(in: 1_000 ... 5_000_000_000, using: &random)
        let epoch = Int64.random(in: -10_000_000_000 ... 10_000_000_000, using: &random)
        let start = Int64.random(in: 0 ... 10_000_000_000, using: &random)
        var algorithm = try FixedWindow(configuration: .init(limit: limit, window: .nanoseconds(window), epochNanoseconds: epoch), now: start)
        var perWindow: [Int64: Int] = [:]
        var now = start
        for _ in 0 ..< 2_000 {
            now += Int64.random(in: 0 ... window / 10, using: &random)
            let cost = Int.random(in: 1 ... limit, using: &random)
            if algorithm.tryConsume(cost, at: now).isAllowed {
                let index = (now - epoch) >= 0 ? (now - epoch) / window : ((now - epoch) - window + 1) / window
                perWindow[index, default: 0] += cost
            }
        }
        #expect(perWindow.values.allSatisfy { $0 <= limit })
    }

    @Test("the count resets at the boundary nanosecond, and retry-after points at it")
    func boundary() throws {
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 250))
        // Windows of 1 s aligned to 0: the first ends at 1 s, though the limiter starts at 250 ns.
        let limiter = try FixedWindowRateLimiter(limit: 3, window: .seconds(1), epochNanoseconds: 0, clock: clock)
        for _ in 0 ..< 3 { #expect(try limiter.tryAcquire().isAllowed) }
        let denied = try limiter.tryAcquire()
        #expect(!denied.isAllowed && denied.retryAfterNanoseconds == 1_000_000_000 - 250)
        #expect(denied.resetAfterNanoseconds == 1_000_000_000 - 250)
        clock.advance(to: NanosecondInstant(nanoseconds: 999_999_999))
        #expect(try !limiter.tryAcquire().isAllowed)
        clock.advance(to: NanosecondInstant(nanoseconds: 1_000_000_000))
        #expect(try limiter.tryAcquire().remaining == 2)
    }

    @Test("by default windows start when the limiter is created: no doubled rate at start-up")
    func startUp() throws {
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 900_000_000))
        let limiter = try FixedWindowRateLimiter(limit: 6, window: .seconds(1), clock: clock)
        var admitted = 0
        // Hammer every 10 ms for one second from creation: exactly the limit, not twice it.
        for _ in 0 ..< 100 {
            if try limiter.tryAcquire().isAllowed { admitted += 1 }
            clock.advance(by: .milliseconds(10))
        }
        #expect(admitted == 6)
        #expect(clock.nowNanoseconds == 1_900_000_000)
        #expect(try limiter.tryAcquire().isAllowed)
    }

    @Test("a refund counts only in the window of its admission; a charge is debt until the window ends")
    func refundAndCharge() throws {
        var algorithm = try FixedWindow(configuration: .init(limit: 10, window: .seconds(1)), now: 0)
        _ = algorithm.tryConsume(8, at: 100)
        algorithm.refund(5, admittedAt: 100, at: 200)
        #expect(algorithm.tryConsume(0, at: 200).remaining == 7)
        _ = algorithm.tryConsume(3, at: 1_000_000_000)
        algorithm.refund(3, admittedAt: 100, at: 1_000_000_001)          // its window has passed
        #expect(algorithm.tryConsume(0, at: 1_000_000_001).remaining == 7)
        algorithm.charge(50, at: 1_000_000_002)                          // capped at twice the limit
        #expect(algorithm.state.count == 20)
        #expect(algorithm.tryConsume(1, at: 1_999_999_999).retryAfterNanoseconds == 1)
        #expect(algorithm.tryConsume(10, at: 2_000_000_000).isAllowed)
        #expect(algorithm.isFresh(at: 3_000_000_000) && !algorithm.isFresh(at: 2_999_999_999))
    }

    @Test("the wait predicted for a queue counts whole windows after the current one")
    func queuePrediction() throws {
        var algorithm = try FixedWindow(configuration: .init(limit: 10, window: .seconds(1)), now: 0)
        _ = algorithm.tryConsume(4, at: 0)
        #expect(algorithm.nanosecondsUntilAvailable(6, at: 0) == 0)
        #expect(algorithm.nanosecondsUntilAvailable(7, at: 0) == 1_000_000_000)
        // 26 units: 6 in this window, 10 in the next, the last 10 in the one starting at 2 s.
        #expect(algorithm.nanosecondsUntilAvailable(26, at: 500_000_000) == 1_500_000_000)
    }

    @Test("an invalid configuration names the field and the rule")
    func invalidConfiguration() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "limit", rule: "must be at least 1 (got 0)")) {
            _ = try FixedWindow(configuration: .init(limit: 0, window: .seconds(1)), now: 0)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "window", rule: "must be positive (got 0.0 seconds)")) {
            _ = try FixedWindow(configuration: .init(limit: 1, window: .zero), now: 0)
        }
    }
}
