// Scenario "tenants": every call passes a chain of three limits taken all-or-nothing: a global
// token bucket, a fixed window per tenant (VIP tenants get more), and a sliding-window log per user.
// One user floods; the others are not starved, and each refusal names the limit that refused.
import Bulwark
import BulwarkTestKit

func tenantsScenario() async throws {
    let clock = ManualClock()
    let global = try TokenBucketRateLimiter(capacity: 200, refill: 300, every: .seconds(60), clock: clock)
    let tenants = try PartitionedRateLimiter<String, FixedWindow, ManualClock>(
        configuration: .init(limit: 120, window: .seconds(60)),
        groups: ["vip": .init(limit: 240, window: .seconds(60))],
        group: { $0.hasPrefix("vip-") ? "vip" : nil },
        clock: clock
    )
    let users = try PartitionedRateLimiter<String, SlidingWindowLog, ManualClock>(
        configuration: .init(limit: 30, window: .seconds(60)), clock: clock
    )
    let chain = try RateLimitChain([
        .limiter("global", global),
        .partitioned("tenant", tenants) { $0.tags["tenant"] },
        .partitioned("user", users) { $0.partitionKey },
    ], clock: clock)
    // (tenant, user, calls per second).
    let traffic: [(tenant: String, user: String, perSecond: Int)] = [
        ("acme", "ann", 5), ("acme", "bob", 1), ("acme", "cid", 1),
        ("vip-globex", "dee", 2), ("vip-globex", "eve", 2), ("initech", "fay", 1),
    ]
    var counts: [String: (calls: Int, admitted: Int, deniedBy: [String: Int])] = [:]
    for tick in 0 ..< 120 * 10 {  // two minutes in 100 ms steps
        clock.advance(to: NanosecondInstant(nanoseconds: Int64(tick) * 100_000_000))
        for flow in traffic where tick % (10 / flow.perSecond) == 0 {
            let context = ResilienceContext(operationName: "chat", partitionKey: flow.user, tags: ["tenant": flow.tenant])
            let decision = try chain.tryAcquire(context: context)
            var entry = counts[flow.user] ?? (0, 0, [:])
            entry.calls += 1
            if decision.isAllowed { entry.admitted += 1 } else { entry.deniedBy[decision.link, default: 0] += 1 }
            counts[flow.user] = entry
        }
    }
    print("  chain: global 300/min (burst 200) → tenant 120/min (VIP 240/min) → user 30/min; two minutes\n")
    print("    tenant      user  calls  admitted  refused by user  by tenant  by global")
    for flow in traffic {
        let entry = counts[flow.user]!
        print("    \(leftAligned(flow.tenant, 10))  \(flow.user)  \(padded(entry.calls, 5))  "
            + "\(padded(entry.admitted, 8))  \(padded(entry.deniedBy["user", default: 0], 15))  "
            + "\(padded(entry.deniedBy["tenant", default: 0], 9))  \(padded(entry.deniedBy["global", default: 0], 9))")
    }
    print("\n    partitions kept: \(tenants.partitionCount) tenants, \(users.partitionCount) users; "
        + "global tokens left: \(try global.tryAcquire(cost: 0).remaining)")
}
