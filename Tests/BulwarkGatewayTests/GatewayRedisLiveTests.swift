import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

/// Three bulwark-gateway nodes sharing one Redis: a key's limit holds across them, no
/// reservation is left behind, and while Redis is down the nodes refuse (failure policy
/// `closed`) rather than each admitting the whole limit. A solo suite (`BULWARK_SOLO=1`).
@Suite("bulwark-gateway on Redis, live: three nodes, one limit", .serialized, .timeLimit(minutes: 4), .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"))
struct GatewayRedisLiveTests {
    @Test("six requests a minute across three nodes: exactly six admitted, wherever they land; Redis down → 503, back → served")
    func threeNodes() async throws {
        let redis = try await RedisServer.started()
        defer { redis.stop() }
        let prefix = uniquePrefix()
        let configuration = """
            redis: {host: 127.0.0.1, port: \(redis.port), prefix: "\(prefix)", timeout_ms: 500}
            tokenizer: {directory: \(GatewayLiveTests.root.path)/.tiktoken}
            models:
              gpt-4o-mini: {upstreams: [mock]}
            upstreams:
              mock: {kind: mock}
            keys:
              - {id: main, key: sk-test-main, limits: {rpm: 1000, input_tpm: 1000000, output_tpm: 1000000}}
              - {id: tight, key: sk-test-tight, limits: {rpm: 6, output_tpm: 100000}}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-redis-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        let nodes = try await Self.threeNodes(configuration, file: file)
        defer { for node in nodes { node.stop() } }

        func call(_ node: LiveServer, key: String) async throws -> (status: String, headers: String) {
            let output = try await run("curl", [
                "-s", "-D", "-", "-o", "/dev/null", "-H", "Authorization: Bearer \(key)",
                "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":8}"#,
                "\(node.base)/v1/chat/completions",
            ])
            return (String(output.prefix(12).suffix(3)), output.lowercased())
        }

        var admitted: [String] = []
        var refused = 0
        for index in 0 ..< 15 {
            let (status, headers) = try await call(nodes[index % 3], key: "sk-test-tight")
            if status == "200" {
                admitted.append(headers.components(separatedBy: "x-bulwark-node: ").last?.prefix(1).description ?? "?")
            } else {
                #expect(status == "429", "\(headers)")
                #expect(headers.contains("x-ratelimit-remaining-requests: 0") && headers.contains("retry-after-ms: "), "\(headers)")
                refused += 1
            }
        }
        #expect(admitted.count == 6 && refused == 9, "admitted \(admitted.count) (on \(admitted)), refused \(refused)")
        #expect(Set(admitted) == ["a", "b", "c"], "every node admitted some: \(admitted)")

        // Every reservation was settled: none is left in Redis.
        let fields = try await redis.command(["HKEYS", "\(prefix):reservations:{key:tight}:gpt-4o-mini"])
        #expect(!fields.split(separator: "\n").contains { $0.hasPrefix("#") }, "live reservations left: \(fields)")

        // Redis down: every node refuses with 503; none admits on its own.
        try await redis.crash()
        for node in nodes {
            let (status, headers) = try await call(node, key: "sk-test-main")
            #expect(status == "503", "\(headers)")
        }
        try await redis.relaunch()
        var served = false
        for _ in 0 ..< 100 where !served {
            served = try await call(nodes[0], key: "sk-test-main").status == "200"
            if !served { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(served, "service resumed once Redis was back")
        for node in nodes { #expect(node.isRunning, "a node stopped: \(node.output)") }
    }

    @Test("on a Redis Cluster: a key's limit and its group's, in one slot, shared by three nodes")
    func redisCluster() async throws {
        let cluster = try await RedisTestCluster.start()
        defer { cluster.stop() }
        let prefix = uniquePrefix()
        let configuration = """
            redis: {host: 127.0.0.1, port: \(cluster.nodes[0].port), prefix: "\(prefix)", cluster: true, timeout_ms: 1000}
            models:
              gpt-4o-mini: {upstreams: [mock]}
            upstreams:
              mock: {kind: mock}
            groups:
              team: {rpm: 8}
            keys:
              - {id: a, key: sk-test-a, group: team, limits: {rpm: 6}}
              - {id: b, key: sk-test-b, group: team, limits: {rpm: 6}}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-cluster-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        let nodes = try await Self.threeNodes(configuration, file: file)
        defer { for node in nodes { node.stop() } }
        func admitted(_ key: String) async throws -> Int {
            var count = 0
            for index in 0 ..< 7 {
                let status = try await run("curl", [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(key)",
                    "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":4}"#,
                    "\(nodes[index % 3].base)/v1/chat/completions",
                ])
                #expect(status == "200" || status == "429", "\(status)")
                if status == "200" { count += 1 }
            }
            return count
        }
        #expect(try await admitted("sk-test-a") == 6, "a's own limit")
        #expect(try await admitted("sk-test-b") == 2, "what the group has left")
        // Every key the gateway wrote is in one slot: all on one master.
        var holders = 0
        for node in cluster.nodes where try !node.cli(["KEYS", "{\(prefix)}:*"]).isEmpty { holders += 1 }
        #expect(holders == 1)
    }

    /// Nodes a, b and c of `configuration` (written to `file`), each on a free port.
    static func threeNodes(_ configuration: String, file: URL) async throws -> [LiveServer] {
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        var nodes: [LiveServer] = []
        for name in ["a", "b", "c"] {
            let port = try #require(freeLoopbackPort())
            do {
                nodes.append(try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)", "--node", name], port: port))
            } catch {
                for node in nodes { node.stop() }
                throw error
            }
        }
        return nodes
    }
}
