import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkRedis

@Suite("Redis Cluster: three masters of the tests' own")
struct RedisClusterTests {
    @Test("commands and scripts routed by slot from one seed; key slots agree with the server's; a slot migrated mid-run (ASK, then MOVED) is followed with the count exact")
    func cluster() async throws {
        let cluster = try await RedisTestCluster.start()
        defer { cluster.stop() }
        let redis = try cluster.client()

        // Routing: keys over every node, each read back through whichever node serves it.
        for index in 0..<200 {
            _ = try await redis.send(["SET", "k\(index)", String(index)], key: "k\(index)")
        }
        for index in 0..<200 {
            #expect(try await redis.send(["GET", "k\(index)"], key: "k\(index)").string == String(index))
        }
        #expect(Set(redis.nodes).isSuperset(of: Set(cluster.endpoints)))
        for key in ["a", "user:1", "{user:1}:rpm", "bulwark:{global#3}:rpm"] {
            #expect(try await cluster.nodes[0].command(["CLUSTER", "KEYSLOT", key]) == String(RedisKeySlot.of(key)))
        }

        // A vector file through the cluster: the scripts run on the slot's master.
        try await RedisVectorTests.run(file: "gcra", on: redis)

        // A limit of 60 while 120 decisions run on four tasks and the key's slot moves to another
        // master halfway: exactly 60 admitted.
        let key = RedisKeys(prefix: "cluster").key(scope: .user("7"), limit: "rpm")
        let slot = RedisKeySlot.of(key)
        let limiter = try RedisRateLimiter(client: redis, key: key, limit: try .slidingWindowLog(limit: 60, window: .seconds(3600)))
        let source = try cluster.owner(of: slot)
        let target = cluster.nodes.first { $0.port != source.port }!
        let admitted = Counter()
        let decided = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<30 {
                        if try await limiter.tryAcquire().isAllowed { admitted.add(1) }
                        decided.add(1)
                    }
                }
            }
            group.addTask {
                while decided.value < 40 { try await Task.sleep(for: .milliseconds(1)) }
                try await offPool { try cluster.migrate(slot: slot, keys: [key], to: target) }
            }
            try await group.waitForAll()
        }
        #expect(decided.value == 120)
        #expect(admitted.value == 60)
        #expect(try cluster.owner(of: slot).port == target.port)
        #expect(try await target.command(["EXISTS", key]) == "1")
        #expect(try await limiter.tryAcquire(cost: 0).decision.remaining == 0)
        await redis.shutdown()
    }
}
