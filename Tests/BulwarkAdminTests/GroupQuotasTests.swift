import BulwarkAdmin
import BulwarkCore
import BulwarkRedisClient
import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

/// A settable wall clock, in nanoseconds since the epoch.
final class WallClock: Sendable {
    private let value = LockedValue<Int64>(1_800_000_000 * 1_000_000_000)
    var now: Int64 { value.withLock { $0 } }
    func advance(seconds: Int64) { value.withLock { $0 += seconds * 1_000_000_000 } }
    func set(_ nanoseconds: Int64) { value.withLock { $0 = nanoseconds } }
}

/// A command deadline for a busy machine: the decisions' own default (250 ms) is a production one.
let patience = busy(.seconds(30))

func temporaryFile(_ name: String = #function) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-quotas-\(UUID().uuidString).json").path
}

@Suite("Group quotas: the decision, in memory on a manual clock and in Redis by the same rules")
struct GroupQuotasTests {
    static let settings = GroupQuotaSettings(
        enabled: true, periodMinutes: 60, total: 5, success: 3, groups: ["gold": .init(total: 3, success: 2), "open": .init(total: 0, success: 4)]
    )

    /// Runs `body` on both back ends.
    static func bothBackEnds(_ body: (GroupQuotas, String) async throws -> Void) async throws {
        let clock = WallClock()
        clock.set(1_800_000_000 * 1_000_000_000 - 1_800_000_000 * 1_000_000_000 % 3_600_000_000_000 + 60_000_000_000)
        try await body(try await GroupQuotas.inMemory(initial: settings, file: temporaryFile(), now: { clock.now }), "memory")
        let server = try await RedisServer.shared()
        let client = try server.client()
        try await body(try await GroupQuotas.onRedis(initial: settings, client: client, prefix: uniquePrefix(), timeout: patience), "redis")
        await client.shutdown()
    }

    @Test("success checked first, then the total; a failure gives back its success unit only; a cancel gives back both")
    func decisions() async throws {
        try await Self.bothBackEnds { quotas, backEnd in
            // gold: total 3, success 2.
            let first = try await quotas.begin(.group("gold"))
            #expect(first.isAllowed && first.usage.totalUsed == 1 && first.usage.successUsed == 1, "\(backEnd)")
            await quotas.finish(first.call!, succeeded: false)
            let second = try await quotas.begin(.group("gold"))
            #expect(second.usage.totalUsed == 2 && second.usage.successUsed == 1, "\(backEnd): the failure kept its total, gave back its success")
            let third = try await quotas.begin(.group("gold"))
            #expect(third.isAllowed && third.usage.successUsed == 2, "\(backEnd)")
            // Success quota used up (2 of 2) while the total has 0 left: success is named first.
            let fourth = try await quotas.begin(.group("gold"))
            #expect(!fourth.isAllowed && fourth.refusedBy == .success && fourth.call == nil, "\(backEnd)")
            #expect(fourth.periodEndsInNanoseconds > 0 && fourth.periodEndsInNanoseconds <= 3_600_000_000_000, "\(backEnd)")
            await quotas.finish(third.call!, succeeded: false)
            let fifth = try await quotas.begin(.group("gold"))
            #expect(!fifth.isAllowed && fifth.refusedBy == .total, "\(backEnd): a success unit is free, the total is not")
            await quotas.cancel(second.call!)
            let sixth = try await quotas.begin(.group("gold"))
            #expect(sixth.isAllowed && sixth.usage.totalUsed == 3, "\(backEnd): a cancelled call takes nothing")
            // A refused request counts nowhere.
            let usage = try await quotas.usage(of: [.group("gold")])[0]
            #expect(usage.totalUsed == 3 && usage.successUsed == 1 && usage.totalLimit == 3 && usage.successLimit == 2, "\(backEnd)")
            // A group without an override and a user share the global values, each counted alone.
            for _ in 0..<3 { #expect(try await quotas.begin(.group("silver")).isAllowed) }
            #expect(try await quotas.begin(.group("silver")).refusedBy == .success, "\(backEnd)")
            #expect(try await quotas.begin(.user("silver")).isAllowed, "\(backEnd): user silver is not group silver")
            // total 0: no limit on all requests.
            for _ in 0..<10 {
                let call = try await quotas.begin(.group("open"))
                #expect(call.isAllowed, "\(backEnd)")
                await quotas.finish(call.call!, succeeded: false)
            }
            let minutes = await quotas.history()
            #expect(minutes.count == 60, "\(backEnd)")
        }
    }

    @Test("a save applies at once on its node; a stale version is refused; disabled quotas admit and count nothing")
    func saving() async throws {
        try await Self.bothBackEnds { quotas, backEnd in
            let start = quotas.current
            var next = start.settings
            next.groups["gold"] = .init(total: 10, success: 1)
            let saved = try await quotas.save(next, expectedVersion: start.version, by: "ops")
            #expect(saved.version == start.version + 1 && quotas.current == saved, "\(backEnd)")
            await #expect(throws: QuotaSaveError.conflict(current: saved.version), "\(backEnd)") {
                try await quotas.save(next, expectedVersion: start.version, by: "ops")
            }
            #expect(try await quotas.begin(.group("gold")).isAllowed)
            #expect(try await quotas.begin(.group("gold")).refusedBy == .success, "\(backEnd): the new success limit, 1, is in force")
            next.enabled = false
            _ = try await quotas.save(next, expectedVersion: nil, by: "ops")
            let off = try await quotas.begin(.group("gold"))
            #expect(off.isAllowed && off.call == nil, "\(backEnd)")
            let audit = try await quotas.audit(limit: 10)
            #expect(audit.map(\.version) == [saved.version + 1, saved.version, start.version], "\(backEnd)")
            #expect(audit[1].admin == "ops" && audit[1].old == start.settings && audit[1].new.groups["gold"] == .init(total: 10, success: 1))
            #expect(audit.last?.admin == "configuration" && audit.last?.old == nil)
        }
    }

    @Test("in memory the period is the epoch's: counts start afresh when it ends, and a call of the old period gives back nothing")
    func periods() async throws {
        let clock = WallClock()
        let hour: Int64 = 3_600_000_000_000
        clock.set(500 * hour + hour - 1_000_000_000)  // one second before an hour ends
        let quotas = try await GroupQuotas.inMemory(initial: Self.settings, file: temporaryFile(), now: { clock.now })
        let early = try await quotas.begin(.group("gold"))
        #expect(early.periodEndsInNanoseconds == 1_000_000_000)
        _ = try await quotas.begin(.group("gold"))
        #expect(try await quotas.begin(.group("gold")).refusedBy == .success)
        clock.advance(seconds: 1)
        let fresh = try await quotas.begin(.group("gold"))
        #expect(fresh.isAllowed && fresh.usage.totalUsed == 1 && fresh.periodEndsInNanoseconds == hour)
        await quotas.finish(early.call!, succeeded: false)
        #expect(try await quotas.usage(of: [.group("gold")])[0].successUsed == 1, "the old period's failure changes nothing now")
    }

    @Test("the file store: written whole (never a partial file), a node started later reads it, its audit survives")
    func fileStore() async throws {
        let path = temporaryFile()
        let first = try await GroupQuotas.inMemory(initial: Self.settings, file: path)
        var next = Self.settings
        next.total = 7
        _ = try await first.save(next, expectedVersion: 1, by: "ops")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        let second = try await GroupQuotas.inMemory(initial: GroupQuotaSettings(), file: path)
        #expect(second.current == VersionedQuotaSettings(settings: next, version: 2), "the file wins over the initial settings")
        #expect(try await second.audit().map(\.admin) == ["ops", "configuration"])
        // Another process's save (here: a second instance) reaches the first by its periodic check.
        _ = try await second.save(Self.settings, expectedVersion: 2, by: "other")
        await first.refresh()
        #expect(first.current.version == 3)
    }

    @Test("on Redis a save on one node reaches another by pub/sub well before the periodic check")
    func announcement() async throws {
        let server = try await RedisServer.shared()
        let (a, b) = (try server.client(), try server.client())
        let prefix = uniquePrefix()
        let nodeA = try await GroupQuotas.onRedis(initial: Self.settings, client: a, prefix: prefix, timeout: patience, checkInterval: .seconds(3_600))
        let nodeB = try await GroupQuotas.onRedis(initial: GroupQuotaSettings(), client: b, prefix: prefix, timeout: patience, checkInterval: .seconds(3_600))
        #expect(nodeB.current == nodeA.current, "the second node reads the first's settings")
        let following = Task { try await nodeB.run() }
        defer { following.cancel() }
        // Saved once nodeB has subscribed: a save before that would be found by the hourly check only.
        var next = Self.settings
        let deadline = ContinuousClock.now + busy(.seconds(30))
        var version = nodeA.current.version
        while nodeB.current.version != version, ContinuousClock.now < deadline {
            next.total += 1
            version = try await nodeA.save(next, expectedVersion: version, by: "ops").version
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(nodeB.current.version == version && nodeB.current.settings.total == next.total)
        following.cancel()
        await a.shutdown()
        await b.shutdown()
    }

    @Test("Redis emptied (a restart without persistence): the next decision stores the node's settings again and is made on them")
    func reseed() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        let prefix = uniquePrefix()
        let quotas = try await GroupQuotas.onRedis(initial: Self.settings, client: client, prefix: prefix, timeout: patience)
        var next = Self.settings
        next.groups["gold"] = .init(total: 9, success: 1)
        _ = try await quotas.save(next, expectedVersion: 1, by: "ops")
        _ = try await client.send(["DEL", "{\(prefix)}:quota:settings"])
        let decision = try await quotas.begin(.group("gold"))
        #expect(decision.isAllowed && decision.usage.successLimit == 1, "the node's copy, version 2, was stored again")
        #expect(try await client.send(["HGET", "{\(prefix)}:quota:settings", "g:gold"]).string == "9,1")
        await client.shutdown()
    }

    @Test("two nodes saving at once: exactly one of each pair of saves from the same version wins")
    func racingSaves() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client(poolSize: 4)
        let prefix = uniquePrefix()
        let nodes = [
            try await GroupQuotas.onRedis(initial: Self.settings, client: client, prefix: prefix, timeout: patience),
            try await GroupQuotas.onRedis(initial: Self.settings, client: client, prefix: prefix, timeout: patience),
        ]
        for round in 0..<20 {
            await nodes[0].refresh()
            await nodes[1].refresh()
            let version = nodes[0].current.version
            let results = await withTaskGroup(of: Bool.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        var settings = Self.settings
                        settings.total = round * 10 + index
                        return (try? await node.save(settings, expectedVersion: version, by: "node\(index)")) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1, "round \(round): \(results)")
        }
        #expect(try await nodes[0].audit(limit: 100).count == 21)
        await client.shutdown()
    }
}
