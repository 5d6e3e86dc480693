import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import BulwarkCore
import Testing

@Suite("Waiting acquire", .timeLimit(minutes: 1))
struct WaitingTests {
    /// A bucket that starts empty and regains one token per second.
    func emptyBucket(capacity: Int = 5, queueLimit: Int = 1024) throws -> (ManualClock, TokenBucketRateLimiter<ManualClock>) {
        let clock = ManualClock()
        let limiter = try TokenBucketRateLimiter(
            capacity: capacity, refill: 1, every: .seconds(1), initialTokens: 0, queueLimit: queueLimit, clock: clock
        )
        return (clock, limiter)
    }

    @Test("acquire returns at once when the cost is available")
    func immediate() async throws {
        let limiter = try TokenBucketRateLimiter(capacity: 3, every: .seconds(1), clock: ManualClock())
        let decision = try await limiter.acquire(cost: 2)
        #expect(decision.isAllowed && decision.remaining == 1)
        #expect(limiter.waitingCount == 0)
    }

    @Test("a waiter is admitted at the exact nanosecond its cost is available")
    func exactWakeUp() async throws {
        let (clock, limiter) = try emptyBucket()
        let waiter = Task { try await limiter.acquire(cost: 2) }
        await clock.waitForSleepers(count: 1)
        // The limiter's timer sleeps until exactly 2 s: not one nanosecond earlier.
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        clock.advance(by: .nanoseconds(1_999_999_999))
        #expect(limiter.waitingCount == 1)
        clock.advance(by: .nanoseconds(1))
        let decision = try await waiter.value
        #expect(decision.isAllowed && decision.remaining == 0)
        #expect(limiter.waitingCount == 0)
    }

    @Test("waiters are admitted in arrival order, and a newcomer cannot overtake them")
    func fifo() async throws {
        let (clock, limiter) = try emptyBucket()
        let journal = Journal<Int>()
        var tasks: [Task<Void, any Error>] = []
        let costs = [3, 1, 2, 1, 1]
        for (index, cost) in costs.enumerated() {
            tasks.append(Task {
                try await limiter.acquire(cost: cost)
                journal.append(index)
            })
            await eventually { limiter.waitingCount == index + 1 }
        }
        // One token is available after a second, but the head wants three: nobody overtakes it.
        clock.advance(by: .seconds(1))
        #expect(try limiter.tryAcquire(cost: 1).isAllowed == false)
        let behind = try limiter.tryAcquire(cost: 1)
        // The newcomer is told to wait for the whole queue (8 tokens) plus itself, minus the token there.
        #expect(behind.retryAfter == .seconds(8))
        for second in 2 ... 8 {
            await clock.waitForSleepers(count: 1)
            clock.advance(to: NanosecondInstant(nanoseconds: Int64(second) * 1_000_000_000))
        }
        for task in tasks { try await task.value }
        #expect(journal.all == [0, 1, 2, 3, 4])
        #expect(limiter.waitingCount == 0)
    }

    @Test("a waiter that times out takes nothing, and the one behind it moves up")
    func timeout() async throws {
        let (clock, limiter) = try emptyBucket()
        let patient = Task { try await limiter.acquire(cost: 4, deadline: .after(.seconds(2))) }
        await eventually { limiter.waitingCount == 1 }
        let small = Task { try await limiter.acquire(cost: 1) }
        await eventually { limiter.waitingCount == 2 }
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        clock.advance(by: .seconds(2))
        await #expect(throws: BulwarkError.waitTimedOut) { try await patient.value }
        // The small waiter is now at the head and its token has been there since 1 s.
        let decision = try await small.value
        #expect(decision.remaining == 1)
        #expect(limiter.waitingCount == 0)
    }

    @Test("a cancelled waiter throws CancellationError, takes nothing, and lets the next one in")
    func cancellation() async throws {
        let (clock, limiter) = try emptyBucket()
        let big = Task { try await limiter.acquire(cost: 5) }
        await eventually { limiter.waitingCount == 1 }
        let small = Task { try await limiter.acquire(cost: 1) }
        await eventually { limiter.waitingCount == 2 }
        clock.advance(by: .seconds(1))
        #expect(limiter.waitingCount == 2)
        big.cancel()
        await #expect(throws: CancellationError.self) { try await big.value }
        // The token that accrued while the big waiter blocked the head goes to the small one at once.
        let decision = try await small.value
        #expect(decision.isAllowed && decision.remaining == 0)
        #expect(limiter.waitingCount == 0)
        #expect(clock.sleeperCount == 0)  // no timer is left behind
    }

    @Test("when the clock jumps past both, whichever came first decides: the deadline or the tokens")
    func clockJumpReplaysEventsInOrder() async throws {
        let (clock, limiter) = try emptyBucket()
        // Its 2 tokens are there at 2 s, after its deadline: it must time out, not be admitted late.
        let late = Task { try await limiter.acquire(cost: 2, deadline: .after(.milliseconds(1_500))) }
        await eventually { limiter.waitingCount == 1 }
        clock.advance(to: NanosecondInstant(nanoseconds: 3_000_000_000))
        await #expect(throws: BulwarkError.waitTimedOut) { try await late.value }
        #expect(try limiter.tryAcquire(cost: 0).remaining == 3)  // it took nothing

        // Here the tokens (at 5 s, two short) come before the deadline (5.5 s): admitted, with the
        // figures of the moment it was admitted, though the clock is already at 6 s.
        _ = try limiter.tryAcquire(cost: 3)
        let early = Task { try await limiter.acquire(cost: 2, deadline: .after(.milliseconds(2_500))) }
        await eventually { limiter.waitingCount == 1 }
        clock.advance(to: NanosecondInstant(nanoseconds: 6_000_000_000))
        let decision = try await early.value
        #expect(decision.remaining == 0)
        #expect(decision.resetAfter == .seconds(5))
        #expect(try limiter.tryAcquire(cost: 0).remaining == 1)
    }

    @Test("a queue whose total cost could overflow is refused at configuration")
    func queueCostBound() {
        // (Int.max / 2) / 10^15 = 4611 waiters at most.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "queueLimit", rule: "× the limit 1000000000000000 must be at most 4611686018427387903 (got 10000)"
        )) {
            _ = try TokenBucketRateLimiter(
                capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), queueLimit: 10_000, clock: ManualClock()
            )
        }
    }

    @Test("a task cancelled before it queues is answered at once")
    func cancelledBeforeQueueing() async throws {
        let (_, limiter) = try emptyBucket()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await limiter.acquire(cost: 1)
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(limiter.waitingCount == 0)
    }

    @Test("a deadline already past is answered at once with a timeout")
    func deadlineAlreadyPast() async throws {
        let (_, limiter) = try emptyBucket()
        await #expect(throws: BulwarkError.waitTimedOut) {
            try await limiter.acquire(cost: 1, timeout: .zero)
        }
        #expect(limiter.waitingCount == 0)
    }

    @Test("a full queue refuses the next waiter with queueFull")
    func queueFull() async throws {
        let (clock, limiter) = try emptyBucket(queueLimit: 2)
        let first = Task { try await limiter.acquire(cost: 1) }
        let second = Task { try await limiter.acquire(cost: 1) }
        await eventually { limiter.waitingCount == 2 }
        await #expect(throws: BulwarkError.queueFull(limit: 2)) {
            try await limiter.acquire(cost: 1)
        }
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(1))
        _ = try await (first.value, second.value)
    }

    @Test("a queue limit of zero disables waiting")
    func noQueue() async throws {
        let (_, limiter) = try emptyBucket(queueLimit: 0)
        await #expect(throws: BulwarkError.queueFull(limit: 0)) { try await limiter.acquire(cost: 1) }
    }

    @Test("execute waits for the context's cost, then runs the operation")
    func executeAsPolicy() async throws {
        let (clock, limiter) = try emptyBucket()
        let context = ResilienceContext(operationName: "chat", cost: 2, deadline: .after(.seconds(5)))
        let call = Task {
            try await limiter.execute(context) { context in "ran \(context.operationName)" }
        }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(2))
        #expect(try await call.value == "ran chat")

        let late = ResilienceContext(operationName: "chat", cost: 5, deadline: .after(.seconds(1)))
        let refused = Task { try await limiter.execute(late) { _ in "ran" } }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: BulwarkError.waitTimedOut) { try await refused.value }
    }
}
