package import BulwarkRedisClient
import BulwarkTestSupport
import Foundation
import Testing

/// A three-master Redis Cluster of the tests' own: `redis-server --cluster-enabled yes` on free
/// loopback ports (three, or six with a replica each), joined by `redis-cli --cluster create`,
/// without persistence.
package final class RedisTestCluster: Sendable {
    package let nodes: [RedisServer]

    package var endpoints: [RedisEndpoint] { nodes.map(\.endpoint) }

    private init(nodes: [RedisServer]) {
        self.nodes = nodes
    }

    /// Starts and joins the cluster; waits until every node reports `cluster_state:ok`.
    ///
    /// - Parameters:
    ///   - replicas: Replicas per master (0 or 1).
    ///   - nodeTimeout: How long a master may be unreachable before its replica takes over.
    package static func start(replicas: Int = 0, nodeTimeout: Duration = .seconds(5)) async throws -> RedisTestCluster {
        try await offPool {
            var nodes: [RedisServer] = []
            let milliseconds = nodeTimeout.components.seconds * 1_000 + nodeTimeout.components.attoseconds / 1_000_000_000_000_000
            for _ in 0..<3 * (1 + replicas) {
                // The cluster bus listens on port + 10000, so the port stays below 55536.
                nodes.append(try RedisServer.start(
                    [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(milliseconds),
                        // A replica may take over however long ago it last heard from its master.
                        "--cluster-replica-validity-factor", "0",
                    ],
                    ports: 20_000...45_000
                ))
            }
            let cluster = RedisTestCluster(nodes: nodes)
            _ = try RedisServer.run(
                "redis-cli",
                ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", String(replicas), "--cluster-yes"]
            )
            for _ in 0..<1_500 {
                // Ready: every node sees the cluster up, and every replica has synchronised with
                // its master (a replica that never has cannot be promoted).
                if try nodes.allSatisfy({ try $0.cli(["CLUSTER", "INFO"]).contains("cluster_state:ok") }),
                    try nodes.allSatisfy({ node in
                        let replication = try node.cli(["INFO", "replication"])
                        return replication.contains("role:master") || replication.contains("master_link_status:up")
                    })
                {
                    return cluster
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            cluster.stop()
            throw RedisServerError.notReady(nodes[0].port)
        }
    }

    /// A client that knows the cluster by its first node only (the others come from the slot map).
    package func client(poolSize: Int = 2, commandTimeout: Duration = busy(.seconds(60)), connectTimeout: Duration = busy(.seconds(5))) throws -> RedisClient {
        try RedisClient(configuration: RedisConfiguration(
            endpoints: [nodes[0].endpoint], cluster: true, poolSize: poolSize, connectTimeout: connectTimeout,
            commandTimeout: commandTimeout, reconnectBackoff: .milliseconds(20), maximumReconnectBackoff: .milliseconds(200)
        ))
    }

    /// The node serving `slot`.
    package func owner(of slot: Int) throws -> RedisServer {
        let line = try nodes[0].cli(["CLUSTER", "NODES"]).split(whereSeparator: \.isNewline).first { line in
            line.split(separator: " ").dropFirst(8).contains { range in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                return bounds.count == 2 ? (bounds[0]...bounds[1]).contains(slot) : bounds.first == slot
            }
        }
        guard let line, let address = line.split(separator: " ").dropFirst().first,
            let port = Int(address.split(separator: ":").last?.split(separator: "@").first ?? ""),
            let node = nodes.first(where: { $0.port == port })
        else { throw RedisServerError.notReady(0) }
        return node
    }

    /// Moves `slot` (and `keys`, which must be all its keys) from its owner to `target`, the way
    /// `redis-cli --cluster reshard` does: IMPORTING, MIGRATING, MIGRATE, then the new owner.
    package func migrate(slot: Int, keys: [String], to target: RedisServer) throws {
        let source = try owner(of: slot)
        guard source.port != target.port else { return }
        let sourceID = try source.cli(["CLUSTER", "MYID"])
        let targetID = try target.cli(["CLUSTER", "MYID"])
        try target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID])
        try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID])
        for key in keys {
            try source.cli(["MIGRATE", "127.0.0.1", String(target.port), key, "0", "5000"])
        }
        for node in nodes { try node.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID]) }
    }

    package func stop() {
        for node in nodes { node.stop() }
    }
}
