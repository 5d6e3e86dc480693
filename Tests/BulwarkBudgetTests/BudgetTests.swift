import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

/// An LLM reply that reports its usage: one request, input and output tokens.
struct Reply: UsageReporting, Sendable {
    var text: String
    var usage: Costs
}

@Suite("Token budgets", .timeLimit(minutes: 1))
struct BudgetTests {
    func budget(_ clock: ManualClock, timeout: Duration = .seconds(600)) throws -> (TokenBudget<ManualClock>, [SegmentedWindowRateLimiter<ManualClock>]) {
        let limits = [10, 10_000, 4_000]
        let dimensions = try limits.map { try SegmentedWindowRateLimiter(limit: $0, window: .seconds(60), segments: 12, clock: clock) }
        let budget = try TokenBudget(dimensions: [
            .limiter("requests", dimensions[0]), .limiter("inputTokens", dimensions[1]), .limiter("outputTokens", dimensions[2]),
        ], reservationTimeout: timeout, clock: clock)
        return (budget, dimensions)
    }

    func remaining(_ dimensions: [SegmentedWindowRateLimiter<ManualClock>]) throws -> [Int] {
        try dimensions.map { try $0.tryAcquire(cost: 0).remaining }
    }

    @Test("a reservation takes the estimate from every dimension; settling refunds the surplus and charges the overrun")
    func reserveAndSettle() throws {
        let clock = ManualClock()
        let (budget, dimensions) = try budget(clock)
        let reservation = try budget.tryReserve([1, 1_200, 4_000])
        #expect(reservation.isReserved && reservation.estimate == [1, 1_200, 4_000])
        #expect(try remaining(dimensions) == [9, 8_800, 0])
        clock.advance(by: .seconds(3))
        #expect(try reservation.settle([1, 1_500, 350]) == .settled(refunded: [0, 0, 3_650], charged: [0, 300, 0]))
        #expect(try remaining(dimensions) == [9, 8_500, 3_650])
        // An overrun beyond what is left is debt that later requests pay first.
        let big = try budget.tryReserve([1, 8_000, 3_000])
        try big.settle([1, 20_000, 3_000])
        #expect(try remaining(dimensions) == [8, 0, 650])
        let refused = try budget.tryReserve([1, 10, 10])
        #expect(!refused.isReserved && refused.decision.deniedBy == "inputTokens")
        #expect(refused.decision.retryAfter == .seconds(57))  // at 60 s the first segment leaves
        #expect(try refused.settle([1, 10, 10]) == .notReserved)
    }

    @Test("a reservation never settled counts at its estimate; settling after its timeout is refused as expired")
    func expiry() throws {
        let clock = ManualClock()
        let (budget, dimensions) = try budget(clock, timeout: .seconds(30))
        do { _ = try budget.tryReserve([1, 100, 100]) }       // dropped: counts at its estimate
        #expect(try remaining(dimensions) == [9, 9_900, 3_900])
        let late = try budget.tryReserve([1, 100, 100])
        clock.advance(by: .seconds(30))
        #expect(try late.settle([1, 0, 0]) == .expired)
        #expect(try remaining(dimensions) == [8, 9_800, 3_800])
    }

    @Test("an estimate above a dimension's limit and a malformed settlement are errors naming the dimension")
    func errors() throws {
        let clock = ManualClock()
        let (budget, dimensions) = try budget(clock)
        #expect(throws: BulwarkError.invalidArgument(field: "cost[outputTokens]", rule: "must be at most the limit 4000 (got 5000)")) {
            _ = try budget.tryReserve([1, 100, 5_000])
        }
        let reservation = try budget.tryReserve([1, 100, 100])
        var refusal: BulwarkError?
        do { try reservation.settle([1, -1, 0]) } catch { refusal = error }
        #expect(refusal == .invalidArgument(field: "actual[inputTokens]", rule: "must be at least 0 (got -1)"))
        #expect(try remaining(dimensions) == [9, 9_900, 3_900])
    }

    @Test("as a policy it reserves the context's estimate and settles with the reply's usage")
    func policy() async throws {
        let clock = ManualClock()
        let dimensions = try [10, 10_000, 4_000].map { try SegmentedWindowRateLimiter(limit: $0, window: .seconds(60), segments: 12, clock: clock) }
        let budget = try TokenBudget(
            dimensions: [.limiter("requests", dimensions[0]), .limiter("inputTokens", dimensions[1]), .limiter("outputTokens", dimensions[2])],
            estimate: { context in [1, context.cost, 1_000] }, clock: clock
        )
        let reply = try await budget.execute(ResilienceContext(operationName: "chat", cost: 700)) { _ in
            Reply(text: "hello", usage: [1, 680, 12])
        }
        #expect(reply.text == "hello")
        #expect(try remaining(dimensions) == [9, 9_320, 3_988])
    }

    @Test("success-only quota: failures use the request limit but not the success quota")
    func successQuota() async throws {
        let clock = ManualClock()
        let quota = try SuccessQuota<String, FixedWindow, ManualClock>(
            requests: .init(limit: 5, window: .seconds(600)), successes: .init(limit: 2, window: .seconds(600)),
            groups: ["gold": (.init(limit: 50, window: .seconds(600)), .init(limit: 20, window: .seconds(600)))],
            group: { $0 == "gilda" ? "gold" : nil }, clock: clock
        )
        let ann = ResilienceContext(operationName: "call", partitionKey: "ann")
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await quota.execute(ann) { _ -> Int in throw Failed() } }
        _ = try await quota.execute(ann, isSuccess: { $0 > 0 }) { _ in 0 }      // a result judged a failure
        #expect(try await quota.execute(ann) { _ in 1 } == 1)
        #expect(try await quota.execute(ann) { _ in 2 } == 2)
        let third = try quota.tryBegin(ann)
        #expect(!third.isReserved && third.decision.deniedBy == "successes")
        #expect(try quota.requests.tryAcquire("ann", cost: 0).remaining == 1)
        let gilda = try quota.tryBegin(ResilienceContext(operationName: "call", partitionKey: "gilda"))
        let reserved = gilda.isReserved
        #expect(reserved)
        quota.finish(gilda, succeeded: true)
        #expect(try quota.successes.tryAcquire("gilda", cost: 0).remaining == 19)
    }

    @Test("under concurrency, successes never exceed the quota and failures never use it up")
    func successQuotaStress() async throws {
        let quota = try SuccessQuota<String, TokenBucket, ManualClock>(
            requests: .init(capacity: 10_000, every: .seconds(3_600)), successes: .init(capacity: 300, every: .seconds(3_600)),
            clock: ManualClock()
        )
        let succeeded = Counter()
        let failed = Counter()
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(task) + 1)
                    for _ in 0 ..< 200 {
                        let call: BudgetReservation<ManualClock>
                        do { call = try quota.tryBegin(ResilienceContext(operationName: "call", partitionKey: "key")) } catch { continue }
                        guard call.isReserved else { continue }
                        await Task.yield()
                        let success = Int.random(in: 0 ..< 3, using: &random) > 0
                        quota.finish(call, succeeded: success)
                        (success ? succeeded : failed).add(1)
                    }
                }
            }
        }
        #expect(succeeded.value == 300)
        #expect(failed.value > 0)
        #expect(try quota.successes.tryAcquire("key", cost: 0).remaining == 0)
        #expect(try quota.requests.tryAcquire("key", cost: 0).remaining == 10_000 - succeeded.value - failed.value)
    }
}
