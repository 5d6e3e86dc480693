import BulwarkCore
import BulwarkEngine
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite("Engine: early answers, LIFO, refunds", .timeLimit(minutes: 1))
struct EngineExtensionTests {
    /// A bucket that starts empty and regains one token per second.
    func emptyBucket(queueLimit: Int = 1024, order: any WaitOrder = FIFOWaitOrder(), maximumWait: Duration? = nil) throws -> (ManualClock, TokenBucketRateLimiter<ManualClock>) {
        let clock = ManualClock()
        let limiter = try TokenBucketRateLimiter(
            configuration: .init(capacity: 5, refill: 1, every: .seconds(1), initialTokens: 0),
            queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock
        )
        return (clock, limiter)
    }

    @Test("rejectEarly refuses at once, with the predicted wait, a caller whose deadline cannot be met")
    func rejectEarly() async throws {
        let (clock, limiter) = try emptyBucket()
        let first = Task { try await limiter.acquire(cost: 3) }          // admitted at 3 s
        await eventually { limiter.waitingCount == 1 }
        // Behind 3 tokens, 2 more are there at 5 s: a 4 s deadline cannot be met.
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(5))) {
            try await limiter.acquire(cost: 2, deadline: .after(.seconds(4)), rejectEarly: true)
        }
        #expect(limiter.waitingCount == 1)
        // A 5 s deadline can: it queues and is admitted exactly then.
        let second = Task { try await limiter.acquire(cost: 2, deadline: .after(.seconds(5)), rejectEarly: true) }
        await eventually { limiter.waitingCount == 2 }
        for second in 1 ... 5 {
            await clock.waitForSleepers(count: 1)
            clock.advance(to: NanosecondInstant(nanoseconds: Int64(second) * 1_000_000_000))
        }
        _ = try await (first.value, second.value)
        // Without the option the same caller waits until its deadline, then times out.
        let late = Task { try await limiter.acquire(cost: 5, deadline: .after(.seconds(1))) }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: BulwarkError.waitTimedOut) { try await late.value }
    }

    @Test("a maximum wait refuses longer predicted waits at once, and bounds every wait")
    func maximumWait() async throws {
        let (clock, limiter) = try emptyBucket(maximumWait: .seconds(2))
        #expect(limiter.maximumWait == .seconds(2))
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(3))) { try await limiter.acquire(cost: 3) }
        let waiter = Task { try await limiter.acquire(cost: 2) }
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        clock.advance(by: .seconds(2))
        #expect(try await waiter.value.isAllowed)
        #expect(throws: BulwarkError.invalidConfiguration(field: "maximumWait", rule: "must be at least 0 (got -1.0 seconds)")) {
            _ = try TokenBucketRateLimiter(configuration: .init(capacity: 1, every: .seconds(1)), maximumWait: .seconds(-1), clock: ManualClock())
        }
    }

    @Test("LIFO serves the newest waiter first, and predicts nothing ahead of a newcomer")
    func lifo() async throws {
        let (clock, limiter) = try emptyBucket(order: LIFOWaitOrder())
        let journal = Journal<Int>()
        var tasks: [Task<Void, any Error>] = []
        for index in 0 ..< 3 {
            tasks.append(Task { try await limiter.acquire(cost: 1); journal.append(index) })
            await eventually { limiter.waitingCount == index + 1 }
        }
        // A caller that does not wait comes after every waiter: four tokens away.
        #expect(try limiter.tryAcquire(cost: 1).retryAfter == .seconds(4))
        // A newcomer that waits is served next: one token away, so a 1 s deadline can be met.
        tasks.append(Task { try await limiter.acquire(cost: 1, deadline: .after(.seconds(1)), rejectEarly: true); journal.append(3) })
        await eventually { limiter.waitingCount == 4 }
        for second in 1 ... 4 {
            await clock.waitForSleepers(count: 1)
            clock.advance(to: NanosecondInstant(nanoseconds: Int64(second) * 1_000_000_000))
            await eventually { journal.all.count == second }
        }
        for task in tasks { try await task.value }
        #expect(journal.all == [3, 2, 1, 0])
    }

    /// Reads a `ManualClock` but never wakes a sleeper (until cancelled): a limiter's timer as late
    /// as it can be.
    struct StalledClock: NanosecondClock {
        let reading: ManualClock
        var now: NanosecondInstant { reading.now }
        var nowNanoseconds: Int64 { reading.nowNanoseconds }
        var minimumResolution: Duration { .nanoseconds(1) }
        func sleep(until deadline: NanosecondInstant, tolerance: Duration?) async throws {
            try await ManualClock().sleep(until: NanosecondInstant(nanoseconds: .max))
        }
    }

    @Test("a caller arriving while the timer is late sees the queue as an on-time timer left it")
    func lateTimer() async throws {
        let reading = ManualClock()
        let limiter = try TokenBucketRateLimiter(
            configuration: .init(capacity: 10, refill: 1, every: .seconds(1), initialTokens: 0), clock: StalledClock(reading: reading)
        )
        let waiter = Task { try await limiter.acquire(cost: 10, deadline: .after(.milliseconds(1_200))) }
        await eventually { limiter.waitingCount == 1 }
        // The timer never fires; a caller arrives at 1.5 s. The waiter timed out at 1.2 s, and
        // 1.5 tokens are there.
        reading.advance(to: NanosecondInstant(nanoseconds: 1_500_000_000))
        #expect(try limiter.tryAcquire(cost: 1).isAllowed)
        #expect(limiter.waitingCount == 0)
        waiter.cancel()  // changes nothing if it was answered; ends the test if it was not
        await #expect(throws: BulwarkError.waitTimedOut) { try await waiter.value }
    }

    @Test("a maximum wait of zero refuses with the predicted wait instead of timing out")
    func maximumWaitZero() async throws {
        let (_, limiter) = try emptyBucket(maximumWait: .zero)
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(1))) { try await limiter.acquire(cost: 1) }
        #expect(limiter.waitingCount == 0)
    }

    @Test("LIFO order removes from anywhere")
    func lifoOrder() {
        var order = LIFOWaitOrder()
        func ticket(_ id: UInt64) -> WaitTicket { WaitTicket(id: id, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: 0) }
        for id in 1 ... 5 as ClosedRange<UInt64> { order.enqueue(ticket(id)) }
        #expect(order.next(at: 0)?.id == 5)
        let removedOnce = order.remove(ticket(3))
        let removedTwice = order.remove(ticket(3))
        let removedTop = order.remove(ticket(5))
        #expect(removedOnce && !removedTwice && removedTop)
        #expect(order.next(at: 0)?.id == 4 && order.count == 3)
        #expect(order.queuedCostAhead(of: WaitTicket(id: 9, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: 0), totalQueuedCost: 3) == 0)
        #expect(FIFOWaitOrder().queuedCostAhead(of: WaitTicket(id: 9, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: 0), totalQueuedCost: 3) == 3)
    }

    @Test("a refund lets a waiter in at once; a charge delays the head")
    func refundAndCharge() async throws {
        let clock = ManualClock()
        let limiter = try TokenBucketRateLimiter(capacity: 4, refill: 1, every: .seconds(1), clock: clock)
        let (taken, admittedAt) = limiter.tryAdmit(cost: 4, at: clock.nowNanoseconds)
        #expect(taken.isAllowed && admittedAt == 0)
        let waiter = Task { try await limiter.acquire(cost: 2) }
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        limiter.refund(3, admittedAt: admittedAt, at: clock.nowNanoseconds)
        #expect(try await waiter.value.remaining == 1)
        // Debt of one capacity: the next token is 5 s away.
        limiter.charge(100, at: clock.nowNanoseconds)
        #expect(try limiter.tryAcquire(cost: 1).retryAfter == .seconds(5))
        #expect(limiter.nanosecondsUntilAdmitted(cost: 1, at: clock.nowNanoseconds) == 5_000_000_000)
    }

    @Test("a partition's algorithm leaves its engine only when nobody waits")
    func detach() async throws {
        let (clock, limiter) = try emptyBucket()
        let waiter = Task { try await limiter.acquire(cost: 1) }
        await eventually { limiter.waitingCount == 1 }
        #expect(limiter.detachIfIdle() == nil)
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(1))
        _ = try await waiter.value
        #expect(limiter.detachIfIdle()?.tokens(at: clock.nowNanoseconds) == 0)
    }
}
