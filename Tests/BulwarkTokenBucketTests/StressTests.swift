import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Synchronization
import Testing

@Suite("Concurrency stress", .timeLimit(minutes: 2))
struct StressTests {
    @Test("tasks racing tryAcquire take exactly the tokens there are: none lost, none given twice")
    func tryAcquireRace() async throws {
        let clock = ManualClock()
        let limiter = try TokenBucketRateLimiter(capacity: 5_000, refill: 1_000, every: .seconds(1), clock: clock)
        let admitted = Counter()
        for round in 0 ..< 5 {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0 ..< 8 {
                    group.addTask {
                        for _ in 0 ..< 2_000 {
                            let cost = Int.random(in: 1 ... 3)
                            if let decision = try? limiter.tryAcquire(cost: cost), decision.isAllowed {
                                admitted.add(cost)
                            }
                        }
                    }
                }
            }
            // Every token produced so far went to exactly one caller or is still in the bucket,
            // and what is left is less than the largest bite (someone would have taken it).
            let left = try limiter.tryAcquire(cost: 0).remaining
            #expect(admitted.value + left == 5_000 + 1_000 * round)
            #expect(left < 3)
            clock.advance(by: .seconds(1))
        }
    }

    enum Outcome: Sendable { case admitted(cost: Int), timedOut, cancelled }

    @Test("a storm of waiters with deadlines and cancellations loses no token and answers everyone", arguments: 1 ... 3)
    func waiterStorm(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let clock = ManualClock()
        // Refill 10 per second; the bucket starts empty so everyone queues.
        let limiter = try TokenBucketRateLimiter(capacity: 10, refill: 10, every: .seconds(1), initialTokens: 0, clock: clock)
        let waiters = 300
        var tasks: [Task<Outcome, Never>] = []
        for _ in 0 ..< waiters {
            let cost = Int.random(in: 1 ... 4, using: &random)
            let deadline: Deadline? = Bool.random(using: &random)
                ? nil : .after(.milliseconds(Int64.random(in: 100 ... 60_000, using: &random)))
            tasks.append(Task {
                do {
                    try await limiter.acquire(cost: cost, deadline: deadline)
                    return .admitted(cost: cost)
                } catch BulwarkError.waitTimedOut {
                    return .timedOut
                } catch {
                    return .cancelled
                }
            })
        }
        await eventually { limiter.waitingCount == waiters }
        // Drive time in 50 ms steps, cancelling a random waiter now and then.
        var steps = 0
        while limiter.waitingCount > 0 {
            if Int.random(in: 0 ..< 4, using: &random) == 0 {
                tasks[Int.random(in: 0 ..< waiters, using: &random)].cancel()
            }
            clock.advance(by: .milliseconds(50))
            steps += 1
            for _ in 0 ..< 20 { await Task.yield() }
            #expect(steps < 100_000)
        }
        var admittedCost = 0
        var counts = (admitted: 0, timedOut: 0, cancelled: 0)
        for task in tasks {
            switch await task.value {
            case .admitted(let cost):
                admittedCost += cost
                counts.admitted += 1
            case .timedOut: counts.timedOut += 1
            case .cancelled: counts.cancelled += 1
            }
        }
        #expect(counts.admitted + counts.timedOut + counts.cancelled == waiters)
        #expect(counts.admitted > 0 && counts.timedOut > 0 && counts.cancelled > 0)
        // The queue was never empty, so the bucket never filled: every token produced was admitted
        // or is still there.
        let produced = Int(clock.nowNanoseconds / 100_000_000)
        let left = try limiter.tryAcquire(cost: 0).remaining
        #expect(admittedCost + left == produced)
        await eventually { clock.sleeperCount == 0 }
    }

    @Test("on the real clock, concurrent waiters never get more than was produced")
    func realClockConservation() async throws {
        let clock = ContinuousClock()
        let start = clock.nowNanoseconds
        let limiter = try TokenBucketRateLimiter(capacity: 100, refill: 100_000, every: .seconds(1), clock: clock)
        let admitted = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0 ..< 16 {
                group.addTask {
                    for _ in 0 ..< 200 {
                        let cost = Int.random(in: 1 ... 10)
                        if (try? await limiter.acquire(cost: cost, timeout: .milliseconds(Int64.random(in: 0 ... 5)))) != nil {
                            admitted.add(cost)
                        }
                        if Bool.random(), (try? limiter.tryAcquire(cost: 1))?.isAllowed == true {
                            admitted.add(1)
                        }
                    }
                }
            }
        }
        let elapsed = clock.nowNanoseconds - start
        let produced = 100 + Int(elapsed / 10_000)  // 100,000 per second = one per 10 µs
        #expect(admitted.value <= produced)
        #expect(admitted.value > 0)
        await eventually { limiter.waitingCount == 0 }
    }
}
