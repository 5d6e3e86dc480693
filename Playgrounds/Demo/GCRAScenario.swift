// Scenario "gcra": ten thousand calls of costs 1 to 3, at irregular moments, decided by a token
// bucket, by the GCRA value and by the lock-free GCRA limiter: every decision is the same.
import Bulwark
import BulwarkTestKit
import BulwarkSimulations

func gcraScenario() async throws {
    var bucket = try TokenBucket(configuration: .init(capacity: 20, refill: 100, every: .seconds(1)), now: 0)
    var gcra = try GCRA(configuration: .init(rate: 100, per: .seconds(1), burst: 20), now: 0)
    let clock = ManualClock()
    let lockFree = try LockFreeGCRARateLimiter(rate: 100, per: .seconds(1), burst: 20, clock: clock)
    var random = SplitMix64(seed: 7)
    var admitted = 0
    var identical = 0
    let calls = 10_000
    for _ in 0 ..< calls {
        clock.advance(by: .nanoseconds(Int64.random(in: 0 ... 30_000_000, using: &random)))
        let cost = Int.random(in: 1 ... 3, using: &random)
        let expected = bucket.tryConsume(cost, at: clock.nowNanoseconds)
        let byValue = gcra.tryConsume(cost, at: clock.nowNanoseconds)
        let byAtomic = try lockFree.tryAcquire(cost: cost)
        if expected.isAllowed { admitted += 1 }
        if byValue == expected, byAtomic == expected { identical += 1 }
    }
    print("""
      100 per second, burst 20: \(calls) calls over \(seconds(clock.nowNanoseconds)), \(admitted) admitted, \(calls - admitted) denied
      decisions identical to the token bucket's (allowed, remaining, retry-after, reset-after): \(identical) of \(calls)
      state: a token bucket keeps credit and a reading; GCRA keeps one number, the theoretical arrival time,
      which the lock-free limiter updates with one compare-exchange per call
    """)
}
