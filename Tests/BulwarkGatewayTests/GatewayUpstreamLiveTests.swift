import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

/// The gateway's upstreams failing as providers do, live: server errors and rationing passed on
/// with OpenAI's bodies, a provider's "out" shared by every node through Redis (provider header
/// sync), health checks taking a dead provider out of rotation and back, and graceful shutdown
/// finishing a stream. A solo suite (`BULWARK_SOLO=1`).
@Suite("bulwark-gateway, live: upstream faults, provider header sync, health, shutdown", .serialized, .timeLimit(minutes: 4),
    .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"))
struct GatewayUpstreamLiveTests {
    static let body = #"{"model":"MODEL","messages":[{"role":"user","content":"Hello"}],"max_tokens":4}"#

    /// `curl` of a chat request for `model`: the status, then the headers (lower-cased) and body.
    static func chat(_ base: String, model: String, key: String = "sk-test-main") async throws -> (status: String, text: String) {
        let output = try await run("curl", [
            "-s", "-D", "-", "-H", "Authorization: Bearer \(key)", "-d", body.replacingOccurrences(of: "MODEL", with: model),
            "\(base)/v1/chat/completions",
        ])
        return (String(output.prefix(12).suffix(3)), output.lowercased())
    }

    static func get(_ url: String) async throws -> (status: String, body: String) {
        let output = try await run("curl", ["-s", "-w", " %{http_code}", url])
        return (String(output.suffix(3)), String(output.dropLast(4)))
    }

    /// Polls `url` until it answers `status` (for at most `seconds`).
    static func await(_ url: String, status: String, seconds: Int = 40) async throws -> Bool {
        for _ in 0 ..< seconds * 5 {
            if try await get(url).status == status { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    static func config(_ text: String, _ body: (URL) async throws -> Void) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-upstreams-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await body(file)
    }

    @Test("the mock's faults reach the client as OpenAI's errors; a 429 cools the upstream; an outage takes it out of rotation")
    func faults() async throws {
        let configuration = """
            tokenizer: {directory: \(GatewayLiveTests.root.path)/.tiktoken}
            models:
              broken: {upstreams: [broken]}
              rationed: {upstreams: [rationed]}
              spared: {upstreams: [down, mock]}
            upstreams:
              mock: {kind: mock}
              broken: {kind: mock, mock: {error_rate: 1.0}}
              rationed: {kind: mock, mock: {rate_limit_rate: 1.0, retry_after_ms: 30000}}
              down: {kind: mock, health_check_seconds: 1, mock: {outage_every_seconds: 3600, outage_seconds: 3600}}
            keys:
              - {id: main, key: sk-test-main, limits: {rpm: 1000}}
            """
        try await Self.config(configuration) { file in
            let port = try #require(freeLoopbackPort())
            let gateway = try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)"], port: port)
            defer { gateway.stop() }
            let broken = try await Self.chat(gateway.base, model: "broken")
            #expect(broken.status == "500" && broken.text.contains(#""type":"server_error""#), "\(broken)")

            let rationed = try await Self.chat(gateway.base, model: "rationed")
            #expect(rationed.status == "429" && rationed.text.contains("retry-after-ms: 30000"), "the provider's 429 passed on: \(rationed)")
            let cooling = try await Self.chat(gateway.base, model: "rationed")
            #expect(cooling.status == "429" && cooling.text.contains("rate limiting this gateway"), "\(cooling)")
            let wait = cooling.text.components(separatedBy: "retry-after: ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
            #expect((25 ... 30).contains(wait), "the rest of the provider's 30 s: \(cooling)")

            // Two failed probes a second apart take `down` out of rotation: readiness still 200
            // (every model has an upstream), and `spared` is served by `mock` without trying `down`.
            var out = false
            for _ in 0 ..< 150 where !out {
                out = try await Self.get("\(gateway.base)/health/ready").body.contains(#""down":{"healthy":false"#)
                if !out { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(out, "down out of rotation")
            let spared = try await Self.chat(gateway.base, model: "spared")
            #expect(spared.status == "200", "\(spared)")
            let metrics = try await Self.get("\(gateway.base)/metrics").body
            for line in [
                #"bulwark_gateway_upstream_requests_total{upstream="broken",outcome="500"} 1"#,
                #"bulwark_gateway_upstream_requests_total{upstream="rationed",outcome="429"} 1"#,
                #"bulwark_gateway_upstream_requests_total{upstream="rationed",outcome="cooling"} 1"#,
                #"bulwark_gateway_upstream_requests_total{upstream="down",outcome="unhealthy"} 1"#,
                #"bulwark_gateway_upstream_healthy{upstream="down"} 0.0"#,
            ] {
                #expect(metrics.contains(line), "\(line) missing from \(metrics)")
            }
            #expect(!metrics.contains("sk-test-main"), "no key in the metrics")
        }
    }

    @Test("health checks: a provider that stops answering leaves rotation (not ready), and returns once it answers again")
    func healthChecks() async throws {
        let mockPort = try #require(freeLoopbackPort())
        var provider = try await LiveServer("bulwark-gateway", arguments: ["--serve-mock", "--port", "\(mockPort)"], port: mockPort)
        defer { provider.stop() }
        let configuration = """
            models:
              gpt-4o-mini: {upstreams: [provider]}
            upstreams:
              provider: {kind: openai, url: "http://127.0.0.1:\(mockPort)/v1", health_check_seconds: 1}
            keys:
              - {id: main, key: sk-test-main}
            """
        try await Self.config(configuration) { file in
            let port = try #require(freeLoopbackPort())
            let gateway = try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)"], port: port)
            defer { gateway.stop() }
            #expect(try await Self.await("\(gateway.base)/health/ready", status: "200"))
            provider.stop()
            #expect(try await Self.await("\(gateway.base)/health/ready", status: "503"), "out of rotation once its probes fail")
            let refused = try await Self.chat(gateway.base, model: "gpt-4o-mini")
            #expect(refused.status == "503" && refused.text.contains("upstream_unavailable"), "\(refused)")
            provider = try await LiveServer("bulwark-gateway", arguments: ["--serve-mock", "--port", "\(mockPort)"], port: mockPort)
            #expect(try await Self.await("\(gateway.base)/health/ready", status: "200"), "back once a probe succeeds")
            #expect(try await Self.chat(gateway.base, model: "gpt-4o-mini").status == "200")
        }
    }

    @Test("provider header sync: the provider's last request of its minute, seen by node a, stops nodes b and c from calling it")
    func providerHeaderSync() async throws {
        let redis = try await RedisServer.started()
        defer { redis.stop() }
        let mockPort = try #require(freeLoopbackPort())
        try await Self.config("models:\n  m: {upstreams: [mock]}\nupstreams:\n  mock: {kind: mock, mock: {rpm: 2}}\nkeys: []\n") { mockFile in
            // The served mock reads only its first mock upstream's settings: a limit of 2 a minute.
            let provider = try await LiveServer(
                "bulwark-gateway", arguments: ["--serve-mock", "--config", mockFile.path, "--port", "\(mockPort)"], port: mockPort
            )
            defer { provider.stop() }
            let prefix = uniquePrefix()
            let configuration = """
                redis: {host: 127.0.0.1, port: \(redis.port), prefix: "\(prefix)", cooldown_poll_ms: 100}
                models:
                  gpt-4o-mini: {upstreams: [provider]}
                upstreams:
                  provider: {kind: openai, url: "http://127.0.0.1:\(mockPort)/v1", health_check_seconds: 0}
                keys:
                  - {id: main, key: sk-test-main, limits: {rpm: 100}}
                """
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-sync-\(UUID().uuidString).yaml")
            defer { try? FileManager.default.removeItem(at: file) }
            let nodes = try await GatewayRedisLiveTests.threeNodes(configuration, file: file)
            defer { for node in nodes { node.stop() } }
            let first = try await Self.chat(nodes[0].base, model: "gpt-4o-mini")
            let second = try await Self.chat(nodes[0].base, model: "gpt-4o-mini")
            #expect(first.status == "200" && second.status == "200", "\(first) \(second)")
            // Node c learns of the cooldown from Redis (its readiness shows it) without a call.
            var learnt = false
            for _ in 0 ..< 100 where !learnt {
                learnt = !(try await Self.get("\(nodes[2].base)/health/ready").body.contains(#""cooldown_seconds":0.000"#))
                if !learnt { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(learnt, "node c learnt the provider's cooldown")
            for node in nodes[1...] {
                let refused = try await Self.chat(node.base, model: "gpt-4o-mini")
                #expect(refused.status == "429" && refused.text.contains("rate limiting this gateway"), "\(refused)")
                #expect(refused.text.contains("retry-after-ms: "), "\(refused)")
            }
            let stats = try await Self.get("http://127.0.0.1:\(mockPort)/mock/stats").body
            #expect(stats.contains(#""requests":2"#), "only node a's two requests reached the provider: \(stats)")
            // Requests refused for the provider's cooldown are not counted against the key: 100 - 2.
            let remaining = try await Self.chat(nodes[1].base, model: "gpt-4o-mini").text
            #expect(remaining.contains("x-ratelimit-remaining-requests: 97"), "\(remaining)")
        }
    }

    @Test("graceful shutdown: SIGTERM mid-stream, the stream still ends with [DONE] and its reservation is settled")
    func gracefulShutdown() async throws {
        let redis = try await RedisServer.started()
        defer { redis.stop() }
        let prefix = uniquePrefix()
        let configuration = """
            redis: {host: 127.0.0.1, port: \(redis.port), prefix: "\(prefix)"}
            models:
              gpt-4o-mini: {upstreams: [mock]}
            upstreams:
              mock: {kind: mock, mock: {output_tokens: 20, tokens_per_second: 10}}
            keys:
              - {id: main, key: sk-test-main, limits: {output_tpm: 10000}}
            """
        try await Self.config(configuration) { file in
            let port = try #require(freeLoopbackPort())
            let gateway = try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)"], port: port)
            defer { gateway.stop() }
            let received = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: received) }
            let stream = Task {
                try await run("curl", [
                    "-s", "-N", "-o", received.path, "-H", "Authorization: Bearer sk-test-main",
                    "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":100,"stream":true}"#,
                    "\(gateway.base)/v1/chat/completions",
                ])
            }
            // SIGTERM once the first token has arrived, whatever the machine's pace.
            func arrived() -> String { (try? String(contentsOf: received, encoding: .utf8)) ?? "" }
            for _ in 0 ..< 600 where !arrived().contains(#""content":" hello""#) { try await Task.sleep(for: .milliseconds(50)) }
            gateway.terminate()
            _ = try await stream.value
            let output = arrived().trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(output.components(separatedBy: #""content":" hello""#).count == 21 && output.hasSuffix("data: [DONE]"), "\(output)")
            let fields = try await redis.command(["HKEYS", "\(prefix):reservations:{key:main}:gpt-4o-mini"])
            #expect(!fields.split(separator: "\n").contains { $0.hasPrefix("#") }, "live reservations left: \(fields)")
            for _ in 0 ..< 100 where gateway.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!gateway.isRunning, "the gateway exited after the stream")
        }
    }

    @Test("bulwark-gateway cluster --nodes 3: one Redis, three nodes sharing its limits; a killed node is restarted; SIGTERM stops all")
    func cluster() async throws {
        let port = try #require(freeLoopbackPort())
        let redisPort = try #require(freeLoopbackPort())
        let cluster = try await LiveServer(
            "bulwark-gateway", arguments: ["cluster", "--nodes", "3", "--port", "\(port)", "--redis-port", "\(redisPort)"], port: port
        )
        defer { cluster.stop() }
        let bases = (0 ..< 3).map { "http://127.0.0.1:\(port + $0)" }
        for base in bases { #expect(try await Self.await("\(base)/health/live", status: "200")) }
        func remaining(_ base: String) async throws -> String {
            let reply = try await Self.chat(base, model: "gpt-4o-mini", key: "sk-bulwark-demo").text
            return reply.components(separatedBy: "x-ratelimit-remaining-requests: ").last?.prefix { $0.isNumber }.description ?? reply
        }
        #expect(try await remaining(bases[0]) == "59")
        #expect(try await remaining(bases[1]) == "58")
        #expect(try await remaining(bases[2]) == "57")
        // Node b by its process id, which its /health/live names.
        let live = try await Self.get("\(bases[1])/health/live").body
        let pid = try #require(live.components(separatedBy: #""pid":"#).last.flatMap { Int32($0.prefix { $0.isNumber }) }, "\(live)")
        #expect(kill(pid, SIGKILL) == 0)
        #expect(try await Self.await("\(bases[1])/health/live", status: "200"), "node b was restarted")
        #expect(try await remaining(bases[1]) == "56", "the restarted node shares the limit")
        cluster.terminate()
        for _ in 0 ..< 200 where cluster.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!cluster.isRunning)
        let left = (try? await run("pgrep", ["-f", "--", "--redis-port \(redisPort)|--port \(redisPort)"])) ?? ""
        #expect(left.isEmpty, "no node or Redis left: \(left)")
    }
}
