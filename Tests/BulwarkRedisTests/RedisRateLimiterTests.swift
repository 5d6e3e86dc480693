import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Foundation
import Testing

@testable import BulwarkRedis

@Suite("Redis rate limiters")
struct RedisRateLimiterTests {
    /// The `calls=` figure of `INFO commandstats` for `command` (0 before its first call).
    static func calls(_ server: RedisServer, _ command: String) async throws -> Int {
        let info = try await server.command(["INFO", "commandstats"])
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let field = line.split(separator: ",").first(where: { $0.contains("calls=") }),
            let value = Int(field.split(separator: "=").last ?? "")
        else { return 0 }
        return value
    }

    @Test("eight nodes, each its own client, share one limit: exactly the limit is admitted; one script call per decision")
    func nodesShareOneLimit() async throws {
        // Its own server: it flushes scripts or counts commands, which other tests would disturb.
        let server = try await RedisServer.started()
        defer { server.stop() }
        let key = RedisKeys(prefix: uniquePrefix()).key(scope: .user("42"), limit: "rpm")
        let limit = try RedisLimit.slidingWindowLog(limit: 100, window: .seconds(60))
        let clients = try (0..<8).map { _ in try server.client(poolSize: 2, commandTimeout: busy(.seconds(30))) }
        let nodes = try clients.map { try RedisRateLimiter(client: $0, key: key, limit: limit) }
        // Warm the script cache so EVALSHA is the only command counted.
        _ = try await nodes[0].tryAcquire(cost: 0)
        let before = try await Self.calls(server, "evalsha")
        let admitted = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in nodes {
                group.addTask {
                    for _ in 0..<40 where try await node.tryAcquire().isAllowed {
                        admitted.add(1)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(admitted.value == 100)
        let after = try await Self.calls(server, "evalsha")
        #expect(after - before == 8 * 40, "one EVALSHA per decision, nothing else")
        for client in clients { await client.shutdown() }
    }

    @Test("nodes in separate processes share one limit")
    func separateProcesses() async throws {
        let server = try await RedisServer.shared()
        let key = RedisKeys(prefix: uniquePrefix()).key(scope: .global, limit: "rpm")
        // Three redis-cli processes run the very script a limiter sends, 30 decisions each,
        // against a limit of 50 that this process shares.
        let limit = try RedisLimit.slidingWindowLog(limit: 50, window: .seconds(3600))  // no window boundary to straddle
        let script = RedisScripts.single(limit.module)
        let arguments = ["", "", "acquire", "1", "", ""] + limit.arguments
        let local = try server.client()
        let limiter = try RedisRateLimiter(client: local, key: key, limit: limit)
        _ = try await limiter.tryAcquire(cost: 0)
        // Each process sends its 30 decisions down one connection, as `redis-cli` reads them from
        // standard input: EVALSHA of the script this process loaded, empty arguments quoted.
        let line = (["EVALSHA", script.sha1, "1", key] + arguments).map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " ")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-\(UUID()).txt")
        try String(repeating: line + "\n", count: 30).write(to: input, atomically: true, encoding: .utf8)
        let port = server.port
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await offPool {
                        try RedisServer.run("sh", ["-c", "redis-cli -p \(port) < '\(input.path)'"])
                    }
                }
            }
            var all: [String] = []
            for try await output in group { all.append(output) }
            return all
        }
        var fromProcesses = 0
        for output in outputs {
            // redis-cli prints each reply's six integers one per line, the first being allowed (1/0).
            let numbers = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(numbers.count == 30 * 6)
            fromProcesses += stride(from: 0, to: numbers.count, by: 6).filter { numbers[$0] == "1" }.count
        }
        var here = 0
        for _ in 0..<30 where try await limiter.tryAcquire().isAllowed { here += 1 }
        #expect(fromProcesses + here == 50)
        await local.shutdown()
    }

    @Test("Redis killed mid-run: no caller blocked past its deadline, each failure policy honoured, events, service resumed")
    func killedAndRestarted() async throws {
        let server = try await RedisServer.started()
        defer { server.stop() }
        // A live server answers well within 20 s however loaded the machine; a dead one refuses at once.
        let client = try server.client(poolSize: 2, commandTimeout: busy(.seconds(20)))
        let limit = try RedisLimit.tokenBucket(capacity: 10, every: .seconds(60))
        let fallback = try TokenBucketRateLimiter(capacity: 2, refill: 2, every: .seconds(60))
        let open = try RedisRateLimiter(client: client, key: "k:open", limit: limit, failurePolicy: .failOpen)
        let closed = try RedisRateLimiter(client: client, key: "k:closed", limit: limit, failurePolicy: .failClosed)
        let local = try RedisRateLimiter(client: client, key: "k:local", limit: limit, failurePolicy: .fallback(fallback))
        let journal = EventJournal()
        for limiter in [open, closed, local] { limiter.events.attach(journal) }
        _ = try await client.send(["PING"], timeout: busy(.seconds(30)))  // connected, however loaded the machine
        #expect(try await open.tryAcquire().source == .redis)

        try await server.crash()
        for _ in 0..<5 {
            let started = ContinuousClock.now
            #expect(try await open.tryAcquire().source == .failedOpen)
            let refusal = await #expect(throws: BulwarkError.self) { try await closed.tryAcquire() }
            guard case .dependencyFailed(dependency: "redis", _)? = refusal else {
                Issue.record("fail closed threw \(String(describing: refusal))")
                continue
            }
            let fromLocal = try await local.tryAcquire()
            #expect(fromLocal.source == .fallback)
            // Each decision is bounded by its deadline, not by the outage: a refused connection or a
            // backed-off server fails at once (the bound leaves slack for a loaded machine).
            #expect(ContinuousClock.now - started < busy(.seconds(8)), "three decisions within their deadlines")
        }
        // The local fallback holds its own share: 2 of the 5.
        #expect(try fallback.tryAcquire(cost: 0).remaining == 0)
        #expect(journal.kinds.filter { $0.detail(as: DistributedStateUnavailable.self) != nil }.count == 3)

        try await server.relaunch()
        // Service resumes: poll for up to a minute (a restart under load may take seconds).
        var resumed = false
        let deadline = ContinuousClock.now + busy(.seconds(60))
        while !resumed, ContinuousClock.now < deadline {
            resumed = try await closed.tryAcquire().source == .redis
            if !resumed { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(resumed)
        _ = try await open.tryAcquire()
        _ = try await local.tryAcquire()
        #expect(journal.kinds.filter { $0.detail(as: DistributedStateRecovered.self) != nil }.count == 3)
        await client.shutdown()
    }

    @Test("SCRIPT FLUSH mid-run is recovered by EVAL, and the decisions continue where they were")
    func scriptFlush() async throws {
        // Its own server: it flushes scripts or counts commands, which other tests would disturb.
        let server = try await RedisServer.started()
        defer { server.stop() }
        let client = try server.client()
        // The scripts read a manual clock: no refill between the calls, however slow they are.
        let limiter = try RedisRateLimiter(
            client: client, key: uniquePrefix(), limit: try .gcra(rate: 10, per: .seconds(60), burst: 10),
            clock: ManualClock(start: NanosecondInstant(nanoseconds: 1_000_000_000_000)), timeSource: .limiterClock
        )
        for _ in 0..<4 { #expect(try await limiter.tryAcquire().isAllowed) }
        try await server.command(["SCRIPT", "FLUSH"])
        let after = try await limiter.tryAcquire()
        #expect(after.isAllowed && after.decision.remaining == 5)
        await client.shutdown()
    }

    @Test("acquire waits for Redis' retry-after; a refund gives back; bad input is refused by name")
    func waitingRefundAndValidation() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        // The scripts read a manual clock, moved to each wake-up of the waiting caller: the waits
        // are Redis' retry-after to the nanosecond, however loaded the machine.
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 1_000_000_000_000))
        let limiter = try RedisRateLimiter(
            client: client, key: uniquePrefix(), limit: try .tokenBucket(capacity: 2, refill: 1, every: .milliseconds(400)),
            clock: clock, timeSource: .limiterClock
        )
        /// Runs `body` while moving the clock to each of its sleepers' wake-ups.
        func driving<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
            let finished = Counter()
            let task = Task { defer { finished.add(1) }; return try await body() }
            while finished.value == 0 {
                if let wake = clock.nextDeadline { clock.advance(to: wake) }
                await Task.yield()
            }
            return try await task.value
        }
        let first = try await limiter.tryAcquire(cost: 2)
        #expect(first.isAllowed)
        let start = clock.nowNanoseconds
        let waited = try await driving { try await limiter.acquire(cost: 1, options: WaitOptions(deadline: .after(.seconds(30)))) }
        #expect(waited.isAllowed)
        #expect(clock.nowNanoseconds - start == 400_000_000, "admitted at the refill, 400 ms later")
        try await limiter.charge(cost: 2)  // in debt: the next 2 are at least 800 ms away
        await #expect(throws: BulwarkError.waitTimedOut) {
            try await driving { try await limiter.acquire(cost: 2, options: WaitOptions(deadline: .after(.milliseconds(1)))) }
        }
        // A refund, on a limit that does not move with time (a bucket refilling meanwhile would).
        let log = try RedisRateLimiter(client: client, key: uniquePrefix() + ":log", limit: try .slidingWindowLog(limit: 5, window: .seconds(3600)))
        let taken = try await log.tryAcquire(cost: 2)
        #expect(taken.isAllowed && taken.decision.remaining == 3)
        try await log.refund(cost: 1, admission: try #require(taken.admission))
        #expect(try await log.tryAcquire(cost: 0).decision.remaining == 4)
        await #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be in 0...2, got 3")) {
            try await limiter.tryAcquire(cost: 3)
        }
        // 2^40 × 86,400 × 10^9 overflows Int64 itself.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "capacity",
            rule: "capacity × period / gcd(refill, period) must be at most 2251799813685248 for exact Lua arithmetic, got more than 9223372036854775807"
        )) { try RedisLimit.tokenBucket(capacity: 1 << 40, refill: 1, every: .seconds(86400)) }
        #expect(throws: BulwarkError.invalidConfiguration(field: "segments", rule: "must divide the window into whole nanoseconds")) {
            try RedisLimit.segmentedWindow(limit: 10, window: .seconds(1), segments: 7)
        }
        await client.shutdown()
    }

    /// The configuration error `make` throws, or `nil` (recorded as an issue) when it throws none.
    static func refusal(_ make: () throws(BulwarkError) -> RedisLimit) -> (field: String, rule: String)? {
        do {
            let limit = try make()
            Issue.record("accepted: \(limit.module) \(limit.arguments)")
        } catch {
            if case .invalidConfiguration(let field, let rule) = error { return (field, rule) }
            Issue.record("not a configuration error: \(error)")
        }
        return nil
    }

    @Test("a GCRA burst or a shaper's maximum cost past the scripts' exact range is refused by name, never trapped")
    func exactRange() throws {
        // 2 × 10^10 × 10^9 overflows Int64: it used to trap while adding R′ to the saturated product.
        let burst = try #require(Self.refusal { () throws(BulwarkError) in
            try .gcra(rate: 1, per: .seconds(1), burst: 10_000_000_000)
        })
        #expect(burst.field == "burst")
        #expect(burst.rule == "2 × burst × P′ + R′ must be at most 4503599627370496 for exact Lua arithmetic, got more than 9223372036854775807")
        let cost = try #require(Self.refusal { () throws(BulwarkError) in
            try .leakyBucketShaper(rate: 1, per: .seconds(1), maximumCost: 10_000_000_000)
        })
        #expect(cost.field == "maximumCost")
        #expect(cost.rule.hasPrefix("2 × maximumCost × P′ + R′ must be at most 4503599627370496"))
        // The largest the validation lets through, and a rate that shares no factor with the period.
        #expect(Self.refusal { () throws(BulwarkError) in
            try .gcra(rate: 7, per: .seconds(1), burst: Int(Int64.max / 8))
        }?.field == "burst")
        #expect(Self.refusal { () throws(BulwarkError) in
            try .leakyBucketShaper(rate: Int.max, per: .nanoseconds(3), maximumCost: Int(Int64.max / 8))
        }?.field == "maximumCost")
        // The bound itself: 2 × B × 10^9 + 1 ≤ 2^52 up to B = 2,251,799.
        #expect(try RedisLimit.gcra(rate: 1, per: .seconds(1), burst: 2_251_799).limit == 2_251_799)
        #expect(Self.refusal { () throws(BulwarkError) in try .gcra(rate: 1, per: .seconds(1), burst: 2_251_800) }?.field == "burst")
        #expect(try RedisLimit.leakyBucketShaper(rate: 1, per: .seconds(1), maximumCost: 2_251_799).limit == 2_251_799)
        // The other limits refuse their own products by name, as before.
        #expect(Self.refusal { () throws(BulwarkError) in
            try .tokenBucket(capacity: 10_000_000_000, refill: 1, every: .seconds(1))
        }?.field == "capacity")
    }

    @Test("Redis down, failing closed: the error says Redis is unavailable, once, with the reason; no health checker")
    func outageDescription() async throws {
        // Nothing listens on port 1; one connection, backing off for a minute after it is refused,
        // so the later calls fail on the pool's remembered reason.
        let client = try RedisClient(configuration: RedisConfiguration(
            endpoints: [RedisEndpoint(host: "127.0.0.1", port: 1)], poolSize: 1, connectTimeout: .seconds(5),
            commandTimeout: .seconds(5), reconnectBackoff: .seconds(60), maximumReconnectBackoff: .seconds(60)
        ))
        let limiter = try RedisRateLimiter(client: client, key: "k", limit: try .tokenBucket(capacity: 10, every: .seconds(60)))
        let concurrency = try RedisConcurrencyLimiter(client: client, key: "c", limit: 2, leaseTTL: .seconds(30))
        let journal = EventJournal()
        limiter.events.attach(journal)
        func occurrences(_ text: String) -> Int { text.components(separatedBy: "Redis unavailable").count - 1 }
        for call in 0..<3 {
            let fromRate = await #expect(throws: BulwarkError.self) { try await limiter.tryAcquire() }
            let fromConcurrency = await #expect(throws: BulwarkError.self) { _ = try await concurrency.tryAcquire() }
            for error in [fromRate, fromConcurrency] {
                let error = try #require(error)
                guard case .dependencyFailed(dependency: "redis", let reason) = error else {
                    Issue.record("call \(call): \(error)")
                    continue
                }
                #expect(reason.hasPrefix("Redis unavailable: "), "call \(call): \(reason)")
                #expect(occurrences(error.description) == 1, "call \(call): \(error.description)")
                #expect(!error.description.contains("health checker"), "call \(call): \(error.description)")
            }
        }
        let reasons = journal.kinds.compactMap { $0.detail(as: DistributedStateUnavailable.self)?.reason }
        #expect(reasons.count == 1 && reasons.allSatisfy { occurrences($0) == 1 }, "\(reasons)")
        // A health checker's refusal keeps its own wording.
        #expect(BulwarkError.unavailable(dependency: "redis", retryAfter: nil).description == "redis is disabled by its health checker")
        await client.shutdown()
    }

    @Test("the key scheme: one hash tag per subject, braces kept out of the tag, split keys on different slots")
    func keys() {
        let keys = RedisKeys(prefix: "api")
        #expect(keys.key(scope: .user("42"), limit: "rpm") == "api:{user:42}:rpm")
        #expect(RedisKeySlot.of(keys.key(scope: .user("42"), limit: "rpm")) == RedisKeySlot.of(keys.key(scope: .user("42"), limit: "itpm")))
        #expect(keys.key(scope: .user("a}b"), limit: "rpm") == "api:{user:a)b}:rpm")
        let shards = Set((0..<8).map { RedisKeySlot.of(keys.key(scope: .global, limit: "rpm", shard: $0)) })
        #expect(shards.count == 8)
    }
}

/// Collects the event kinds a limiter emits.
final class EventJournal: ResilienceObserver, Sendable {
    private let entries = Journal<ResilienceEvent.Kind>()
    var kinds: [ResilienceEvent.Kind] { entries.all }
    func observe(_ event: ResilienceEvent) { entries.append(event.kind) }
}
