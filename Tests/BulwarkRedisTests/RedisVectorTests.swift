import BulwarkCore
import BulwarkRedisTestSupport
import Foundation
import Testing

@testable import BulwarkRedis

/// Every single-limiter vector file of `Tests/Vectors`, run against the Redis scripts on a real
/// server with the scripts' clock driven by the steps' `at` (ARGV 1–2), exactly as the in-memory
/// limiters run them on a manual clock.
@Suite("Vector files against Redis")
struct RedisVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    static let files = [
        "token-bucket", "leaky-bucket-meter", "leaky-bucket-shaper", "gcra", "fixed-window", "sliding-window-log",
        "sliding-window-counter", "segmented-window", "concurrency",
    ]

    /// The limit a vector configuration describes, through the public factories (so their mapping
    /// to the scripts' arguments is what is tested), and its module's arguments.
    static func limit(_ file: String, _ c: [String: Any]) throws -> (module: String, arguments: [String]) {
        func int(_ name: String) -> Int { (c[name] as? NSNumber)?.intValue ?? 0 }
        func i64(_ name: String) -> Int64 { (c[name] as? NSNumber)?.int64Value ?? 0 }
        func optional(_ name: String) -> Int? { (c[name] as? NSNumber)?.intValue }
        func ns(_ name: String) -> Duration { .nanoseconds(i64(name)) }
        let limit: RedisLimit
        switch file {
        case "token-bucket":
            limit = try .tokenBucket(capacity: int("capacity"), refill: int("refillAmount"), every: ns("refillPeriodNanoseconds"),
                                     initialTokens: optional("initialTokens"))
        case "leaky-bucket-meter":
            limit = try .leakyBucketMeter(capacity: int("capacity"), drain: int("drainAmount"), every: ns("drainPeriodNanoseconds"),
                                          initialLevel: optional("initialLevel") ?? 0)
        case "leaky-bucket-shaper":
            limit = try .leakyBucketShaper(rate: int("rate"), per: ns("periodNanoseconds"), maximumCost: int("maximumCost"))
        case "gcra": limit = try .gcra(rate: int("rate"), per: ns("periodNanoseconds"), burst: int("burst"))
        case "fixed-window": limit = try .fixedWindow(limit: int("limit"), window: ns("windowNanoseconds"), epoch: i64("epochNanoseconds"))
        case "sliding-window-log": limit = try .slidingWindowLog(limit: int("limit"), window: ns("windowNanoseconds"))
        case "sliding-window-counter":
            limit = try .slidingWindowCounter(limit: int("limit"), window: ns("windowNanoseconds"), epoch: i64("epochNanoseconds"))
        case "segmented-window":
            limit = try .segmentedWindow(limit: int("limit"), window: ns("windowNanoseconds"), segments: int("segments"),
                                         epoch: i64("epochNanoseconds"))
        case "concurrency":
            // One lease per case, long-lived: the file's in-flight count is that lease's cost.
            return ("concurrency", ["\(int("limit"))", "1000000000000000", "vector"])
        default: throw CancellationError()
        }
        return (limit.module, limit.arguments)
    }

    @Test("every step of every case matches", arguments: files)
    func file(_ name: String) async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client(poolSize: 1)
        try await Self.run(file: name, on: redis)
        await redis.shutdown()
    }

    /// Runs one vector file's cases through `redis` (a server or a cluster), each case on its own key.
    static func run(file name: String, on redis: RedisClient) async throws {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(json["cases"] as? [[String: Any]])
        let prefix = uniquePrefix(name)
        var steps = 0
        for (index, testCase) in cases.enumerated() {
            let (module, arguments) = try limit(name, try #require(testCase["config"] as? [String: Any]))
            let script = RedisScripts.single(module)
            let key = "\(prefix):\(index)"
            func run(_ op: String, at: Int64, cost: Int, admittedAt: Int64? = nil) async throws -> [Int64] {
                let clock = [String(at.floorDivided(by: 1_000_000_000)), String(at.modulo(1_000_000_000))]
                let admission = admittedAt.map { [String($0.floorDivided(by: 1_000_000_000)), String($0.modulo(1_000_000_000))] } ?? ["", ""]
                let reply = try await redis.evaluate(script, keys: [key], arguments: clock + [op, String(cost)] + admission + arguments)
                let values = reply.array?.compactMap { $0.integer } ?? []
                return values
            }
            _ = try await run("charge", at: 0, cost: 0)  // every limiter is created at clock reading 0
            for (stepIndex, step) in try #require(testCase["steps"] as? [[String: Any]]).enumerated() {
                let op = step["op"] as? String ?? "acquire"
                let at = try #require(step["at"] as? NSNumber).int64Value
                let cost = try #require(step["cost"] as? NSNumber).intValue
                steps += 1
                switch op {
                case "acquire":
                    let reply = try await run("acquire", at: at, cost: cost)
                    let never = Int64.max
                    let got = [reply[0] == 1 ? 1 : 0, reply[1], reply[2] < 0 ? never : reply[2], reply[3] < 0 ? never : reply[3]]
                    let want: [Int64] = [
                        (step["allowed"] as? Bool ?? false) ? 1 : 0, (step["remaining"] as? NSNumber)?.int64Value ?? -1,
                        (step["retryAfter"] as? NSNumber)?.int64Value ?? -1, (step["resetAfter"] as? NSNumber)?.int64Value ?? -1,
                    ]
                    #expect(got == want, "\(name) case \(index) (\(testCase["name"] ?? "")) step \(stepIndex)")
                    if got != want { return }
                case "refund", "release":
                    let admitted = (step["admittedAt"] as? NSNumber)?.int64Value ?? at
                    _ = try await run("refund", at: at, cost: cost, admittedAt: admitted)
                case "charge":
                    _ = try await run("charge", at: at, cost: cost)
                default:
                    Issue.record("unknown op \(op)")
                }
            }
        }
        #expect(steps > 0)
    }
}
