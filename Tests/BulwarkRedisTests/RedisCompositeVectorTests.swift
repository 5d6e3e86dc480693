import BulwarkCore
import BulwarkRedisTestSupport
import Foundation
import Testing

@testable import BulwarkRedis

/// `chain.json` and `budget.json` against the chain and budget scripts on a real server, the
/// scripts' clock driven by each step's `at`, as the in-memory chain and budget run them.
@Suite("Chain and budget vector files against Redis")
struct RedisCompositeVectorTests {
    struct Link {
        let name: String
        let module: String
        let arguments: [String]
    }

    static func links(_ config: [String: Any], _ field: String) throws -> [Link] {
        try #require(config[field] as? [[String: Any]]).map { link in
            let (module, arguments) = try RedisVectorTests.limit(
                try #require(link["algorithm"] as? String), try #require(link["config"] as? [String: Any])
            )
            return Link(name: try #require(link["name"] as? String), module: module, arguments: arguments)
        }
    }

    static func clock(_ at: Int64) -> [String] {
        [String(at.floorDivided(by: 1_000_000_000)), String(at.modulo(1_000_000_000))]
    }

    static func numbers(_ value: Any?) -> [Int64] {
        (value as? [NSNumber])?.map(\.int64Value) ?? []
    }

    @Test("every step of every case matches", arguments: ["chain", "budget"])
    func file(_ name: String) async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client(poolSize: 1)
        let script = RedisScripts.composite(name)
        let data = try Data(contentsOf: RedisVectorTests.directory.appendingPathComponent("\(name).json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let prefix = uniquePrefix(name)
        var steps = 0
        for (index, testCase) in try #require(json["cases"] as? [[String: Any]]).enumerated() {
            let config = try #require(testCase["config"] as? [String: Any])
            let links = try Self.links(config, name == "chain" ? "links" : "dimensions")
            let keys = links.indices.map { "\(prefix):\(index):\($0)" }
            let reservations = "\(prefix):\(index):reservations"
            let timeout = (config["reservationTimeoutNanoseconds"] as? NSNumber)?.int64Value ?? 0
            // Every limiter is created at clock reading 0.
            for (link, key) in zip(links, keys) {
                _ = try await redis.evaluate(RedisScripts.single(link.module), keys: [key],
                                             arguments: Self.clock(0) + ["charge", "0", "", ""] + link.arguments)
            }
            let linkArguments = links.flatMap { [$0.module, String($0.arguments.count)] + $0.arguments }
            for (stepIndex, step) in try #require(testCase["steps"] as? [[String: Any]]).enumerated() {
                let op = step["op"] as? String ?? "acquire"
                let at = try #require(step["at"] as? NSNumber).int64Value
                if step["error"] != nil { continue }  // an estimate above a limit: refused before Redis
                steps += 1
                let head = Self.clock(at) + [op, String(links.count)] + linkArguments
                let arguments: [String]
                switch op {
                case "acquire": arguments = head + Self.numbers(step["costs"]).map(String.init)
                case "reserve":
                    arguments = head + Self.numbers(step["estimate"]).map(String.init) + ["\(step["id"]!)", String(timeout)]
                default: arguments = head + Self.numbers(step["actual"]).map(String.init) + ["\(step["id"]!)"]
                }
                let reply = try await redis.evaluate(script, keys: name == "chain" ? keys : keys + [reservations], arguments: arguments)
                let values = reply.array?.compactMap { $0.integer } ?? []
                try #require(values.count == 4 + 3 * links.count)
                let remaining = links.indices.map { values[4 + 3 * $0] }
                let label = "\(name) case \(index) (\(testCase["name"] ?? "")) step \(stepIndex)"
                if op == "settle" {
                    // 0 settled; 1 expired; 2 unknown (pruned after expiry), which the caller reads as expired.
                    #expect((values[0] != 0) == (step["expired"] as? Bool), "\(label)")
                    #expect(remaining == Self.numbers(step["remaining"]), "\(label)")
                    continue
                }
                let deniedBy = values[1] > 0 ? links[Int(values[1]) - 1].name : nil
                let retryAfter = values[2] < 0 ? Int64.max : values[2]
                #expect(values[0] == ((step["allowed"] as? Bool) == true ? 1 : 0), "\(label)")
                #expect(deniedBy == step["deniedBy"] as? String, "\(label)")
                #expect(retryAfter == (step["retryAfter"] as? NSNumber)?.int64Value, "\(label)")
                #expect(remaining == Self.numbers(step["remaining"]), "\(label)")
            }
        }
        #expect(steps > 1000)
        await redis.shutdown()
    }

    @Test("the Swift chain and budget: all-or-nothing, refund, settle with surplus and overrun, validation")
    func api() async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client()
        let keys = RedisKeys(prefix: uniquePrefix())
        // Refills and windows of an hour: nothing comes back while the test runs, however slowly.
        let requests = RedisLink("requests", key: keys.key(scope: .user("1"), limit: "rpm"), limit: try .tokenBucket(capacity: 3, every: .seconds(3600)))
        let tokens = RedisLink("tokens", key: keys.key(scope: .user("1"), limit: "tpm"), limit: try .slidingWindowLog(limit: 1000, window: .seconds(3600)))
        let chain = try RedisRateLimitChain(client: redis, links: [requests, tokens])
        let first = try await chain.tryAcquire(costs: [1, 600])
        #expect(first.isAllowed && first.remaining == [2, 400])
        let refused = try await chain.tryAcquire(costs: [1, 600])
        #expect(!refused.isAllowed && refused.deniedBy == "tokens" && refused.remaining == [2, 400])
        // Redis' own clock runs between the two calls: on a loaded machine, seconds may pass.
        #expect(refused.retryAfter > .seconds(3570) && refused.retryAfter <= .seconds(3600))
        try await chain.refund(costs: [0, 300], of: first)
        #expect(try await chain.tryAcquire(costs: [0, 0]).remaining == [2, 700])
        await #expect(throws: BulwarkError.invalidArgument(field: "costs", rule: "needs one per link (2), got 1")) {
            try await chain.tryAcquire(costs: [1])
        }
        await #expect(throws: BulwarkError.invalidArgument(field: "costs", rule: "requests: must be in 0...3, got 4")) {
            try await chain.tryAcquire(costs: [4, 0])
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "links", rule: "each needs its own key")) {
            try RedisRateLimitChain(client: redis, links: [requests, requests])
        }

        let budget = try RedisTokenBudget(
            client: redis, dimensions: [requests, tokens], reservations: keys.key(scope: .user("1"), limit: "reservations"),
            reservationTimeout: .seconds(60)
        )
        let reservation = try await budget.reserve(estimate: [1, 500])
        #expect(reservation.isGranted && reservation.decision.remaining == [1, 200])
        #expect(try await budget.settle(reservation, actual: [1, 100]))
        #expect(try await chain.tryAcquire(costs: [0, 0]).remaining == [1, 600])
        let again = try await budget.reserve(estimate: [1, 100])
        #expect(try await budget.settle(again, actual: [1, 650]))  // an overrun of 550 is charged
        #expect(try await chain.tryAcquire(costs: [0, 0]).remaining == [0, 0])
        #expect(try await budget.settle(again, actual: [1, 1]) == false, "settled once; then unknown")
        await redis.shutdown()
    }

    @Test("a settlement refuses by name a figure past 2^53 − 1 (Int.max too), as it does a negative one; 2^53 − 1 is charged, capped")
    func settleRange() async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client()
        let keys = RedisKeys(prefix: uniquePrefix())
        let requests = RedisLink("requests", key: keys.key(scope: .user("1"), limit: "rpm"), limit: try .tokenBucket(capacity: 3, every: .seconds(60)))
        let tokens = RedisLink("tokens", key: keys.key(scope: .user("1"), limit: "tpm"), limit: try .slidingWindowLog(limit: 1000, window: .seconds(3600)))
        let budget = try RedisTokenBudget(
            client: redis, dimensions: [requests, tokens], reservations: keys.key(scope: .user("1"), limit: "reservations"),
            reservationTimeout: .seconds(600)
        )
        let reservation = try await budget.reserve(estimate: [1, 100])
        #expect(reservation.isGranted)
        let refused: [(actual: [Int], field: String, rule: String)] = [
            ([1, Int.max], "actual[tokens]", "must be at most 9007199254740991 (2^53 − 1) for exact Lua arithmetic (got 9223372036854775807)"),
            ([1, 1 << 53], "actual[tokens]", "must be at most 9007199254740991 (2^53 − 1) for exact Lua arithmetic (got 9007199254740992)"),
            ([-1, 0], "actual[requests]", "must be at least 0 (got -1)"),  // the in-memory TokenBudget's field and rule
            ([1], "actual", "must hold one figure per dimension, 2 (got 1)"),
        ]
        for (actual, field, rule) in refused {
            await #expect(throws: BulwarkError.invalidArgument(field: field, rule: rule)) {
                try await budget.settle(reservation, actual: actual)
            }
        }
        // Refused before Redis: the reservation is still held, and the largest exact figure settles
        // it, the overrun capped at the dimension's debt.
        #expect(RedisTokenBudget.maximumActual == 9_007_199_254_740_991)
        #expect(try await budget.settle(reservation, actual: [1, RedisTokenBudget.maximumActual]))
        let chain = try RedisRateLimitChain(client: redis, links: [requests, tokens])
        #expect(try await chain.tryAcquire(costs: [0, 0]).remaining == [2, 0])
        await redis.shutdown()
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
