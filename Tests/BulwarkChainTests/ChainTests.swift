import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Chained limiters", .timeLimit(minutes: 1))
struct ChainTests {
    func buckets(_ clock: ManualClock, _ capacities: [Int]) throws -> [TokenBucketRateLimiter<ManualClock>] {
        try capacities.map { try TokenBucketRateLimiter(capacity: $0, refill: $0, every: .seconds(60), clock: clock) }
    }

    @Test("a later link's denial gives the earlier links back exactly what they took")
    func allOrNothing() throws {
        let clock = ManualClock()
        let limiters = try buckets(clock, [10, 5, 3])
        let chain = try RateLimitChain([.limiter("global", limiters[0]), .limiter("tenant", limiters[1]), .limiter("user", limiters[2])], clock: clock)
        #expect(try chain.tryAcquire(cost: 3).isAllowed)
        let before = try limiters.map { try $0.tryAcquire(cost: 0) }
        // Global and tenant take 2 each, then the user link (empty) denies: both are given back.
        let denied = try chain.tryAcquire(cost: 2)
        #expect(!denied.isAllowed && denied.deniedBy == "user" && denied.linkIndex == 2)
        #expect(denied.retryAfter == .seconds(40))   // 2 tokens at 3 per minute
        #expect(try limiters.map { try $0.tryAcquire(cost: 0) } == before)
    }

    @Test("the decision names the most restrictive link and its wait, links after the denier included")
    func mostRestrictive() throws {
        let clock = ManualClock()
        let limiters = try buckets(clock, [10, 5, 3])
        let chain = try RateLimitChain([.limiter("global", limiters[0]), .limiter("tenant", limiters[1]), .limiter("user", limiters[2])], clock: clock)
        _ = try limiters[1].tryAcquire(cost: 5)      // tenant empty: 12 s per token
        _ = try limiters[2].tryAcquire(cost: 3)      // user empty: 20 s per token
        let denied = try chain.tryAcquire(cost: 1)
        #expect(denied.deniedBy == "user" && denied.retryAfter == .seconds(20))
        #expect(try limiters[0].tryAcquire(cost: 0).remaining == 10)
        let allowed = try chain.tryAcquire(costs: [4, 0, 0])
        #expect(allowed.isAllowed && allowed.link == "tenant" && allowed.deniedBy == nil)   // fewest left: 0 of tenant (tie with user: first)
    }

    @Test("partitioned links read their keys from the context")
    func partitionedLinks() throws {
        let clock = ManualClock()
        let global = try TokenBucketRateLimiter(capacity: 100, every: .seconds(60), clock: clock)
        let tenants = try PartitionedRateLimiter<String, FixedWindow, ManualClock>(configuration: .init(limit: 3, window: .seconds(60)), clock: clock)
        let users = try PartitionedRateLimiter<String, SlidingWindowLog, ManualClock>(configuration: .init(limit: 2, window: .seconds(60)), clock: clock)
        let chain = try RateLimitChain([
            .limiter("global", global),
            .partitioned("tenant", tenants) { $0.tags["tenant"] },
            .partitioned("user", users) { $0.partitionKey },
        ], clock: clock)
        func context(_ tenant: String, _ user: String) -> ResilienceContext {
            ResilienceContext(operationName: "chat", partitionKey: user, tags: ["tenant": tenant])
        }
        #expect(try chain.tryAcquire(context: context("acme", "ann")).isAllowed)
        #expect(try chain.tryAcquire(context: context("acme", "ann")).isAllowed)
        #expect(try chain.tryAcquire(context: context("acme", "ann")).deniedBy == "user")
        #expect(try chain.tryAcquire(context: context("acme", "bob")).isAllowed)
        #expect(try chain.tryAcquire(context: context("acme", "cid")).deniedBy == "tenant")
        #expect(try chain.tryAcquire(context: context("umbrella", "cid")).isAllowed)
        #expect(try global.tryAcquire(cost: 0).remaining == 96)
        #expect(throws: BulwarkError.invalidArgument(field: "key of link tenant", rule: "must be present in the context")) {
            _ = try chain.tryAcquire(context: ResilienceContext(operationName: "chat", partitionKey: "ann"))
        }
        #expect(try global.tryAcquire(cost: 0).remaining == 96)
    }

    @Test("acquire waits in the limiting link's queue, then takes the others")
    func waiting() async throws {
        let clock = ManualClock()
        let limiters = try buckets(clock, [60, 1])
        let chain = try RateLimitChain([.limiter("global", limiters[0]), .limiter("user", limiters[1])], clock: clock)
        #expect(try chain.tryAcquire().isAllowed)
        let waiter = Task { try await chain.acquire(options: WaitOptions(deadline: .after(.seconds(90)))) }
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 60_000_000_000))
        clock.advance(by: .seconds(60))
        #expect(try await waiter.value.isAllowed)
        #expect(try limiters[0].tryAcquire(cost: 0).remaining == 58 + 1)  // one token back in a minute
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(60))) {
            try await chain.acquire(options: WaitOptions(deadline: .after(.seconds(1)), rejectEarly: true))
        }
    }

    @Test("bad costs and links are refused by name")
    func errors() throws {
        let clock = ManualClock()
        let limiters = try buckets(clock, [10, 5])
        let chain = try RateLimitChain([.limiter("global", limiters[0]), .limiter("user", limiters[1])], clock: clock)
        #expect(throws: BulwarkError.invalidArgument(field: "cost[user]", rule: "must be at most the limit 5 (got 6)")) {
            _ = try chain.tryAcquire(cost: 6)
        }
        #expect(throws: BulwarkError.invalidArgument(field: "costs", rule: "must hold one cost per link, 2 (got 3)")) {
            _ = try chain.tryAcquire(costs: [1, 1, 1])
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "links", rule: "must have distinct names (\"global\" appears twice)")) {
            _ = try RateLimitChain([.limiter("global", limiters[0]), .limiter("global", limiters[1])], clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "links", rule: "must hold between 1 and 8 links (got 0)")) {
            _ = try RateLimitChain<ManualClock>([], clock: clock)
        }
        #expect(throws: BulwarkError.invalidArgument(field: "costs", rule: "must hold at most 8 values (got 9)")) {
            _ = try Costs(Array(repeating: 1, count: 9))
        }
    }

    @Test("tasks on overlapping chains neither lose nor double-spend capacity", arguments: 1 ... 3)
    func stress(seed: UInt64) async throws {
        let clock = ManualClock()
        let global = try TokenBucketRateLimiter(capacity: 3_000, every: .seconds(3_600), clock: clock)
        let tenants = try PartitionedRateLimiter<String, SegmentedWindow, ManualClock>(
            configuration: .init(limit: 700, window: .seconds(60), segments: 12), clock: clock)
        let users = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(configuration: .init(capacity: 150, every: .seconds(3_600)), clock: clock)
        let chain = try RateLimitChain([
            .limiter("global", global), .partitioned("tenant", tenants) { $0.tags["tenant"] }, .partitioned("user", users) { $0.partitionKey },
        ], clock: clock)
        let takenGlobal = Counter()
        let takenByTenant = (0 ..< 4).map { _ in Counter() }
        let takenByUser = (0 ..< 16).map { _ in Counter() }
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    var random = SplitMix64(seed: seed &* 100 &+ UInt64(task))
                    for _ in 0 ..< 600 {
                        let user = Int.random(in: 0 ..< 16, using: &random)
                        let tenant = user % 4
                        let cost = Int.random(in: 1 ... 5, using: &random)
                        let context = ResilienceContext(operationName: "call", partitionKey: "u\(user)", tags: ["tenant": "t\(tenant)"])
                        if (try? chain.tryAcquire(cost: cost, context: context))?.isAllowed == true {
                            takenGlobal.add(cost)
                            takenByTenant[tenant].add(cost)
                            takenByUser[user].add(cost)
                        }
                    }
                }
            }
        }
        #expect(takenGlobal.value + (try global.tryAcquire(cost: 0).remaining) == 3_000)
        for tenant in 0 ..< 4 {
            #expect(takenByTenant[tenant].value + (try tenants.tryAcquire("t\(tenant)", cost: 0).remaining) == 700)
        }
        for user in 0 ..< 16 {
            #expect(takenByUser[user].value + (try users.tryAcquire("u\(user)", cost: 0).remaining) == 150)
        }
    }
}
