import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

/// Three bulwark-gateway nodes on one Redis, each with its quotas' admin listener, driven by
/// headless Chromium (Playwright) and by Python's requests (Tests/BulwarkGatewayTests/admin_browser.py):
/// sign-in, inline validation and the server's refusal, a change in force on another node within a
/// second, two tabs in conflict, markup shown as text, the login limit; then the time 100 changes
/// take to reach the other two nodes. A solo suite (`BULWARK_SOLO=1`): Chromium loads both cores.
@Suite("bulwark-gateway, live: the quotas' admin page in Chromium, on three nodes", .serialized, .timeLimit(minutes: 6), .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"))
struct GatewayAdminLiveTests {
    static let token = "admin-token-\(UInt64.random(in: 0...UInt64.max))"

    @Test("the page and API in Chromium and over HTTP; a change in force on every node within a second")
    func browser() async throws {
        let redis = try await RedisServer.started()
        defer { redis.stop() }
        let configuration = """
            redis: {port: \(redis.port), prefix: \(uniquePrefix())}
            models:
              gpt-ok: {upstreams: [ok]}
              gpt-fail: {upstreams: [bad]}
            upstreams:
              ok: {kind: mock}
              bad: {kind: mock, health_check_seconds: 0, mock: {error_rate: 1.0}}
            users:
              alice: {group: gold}
            keys:
              - {id: gold-key, key: sk-test-gold, user: alice, limits: {rpm: 1000}}
            quotas:
              enabled: true
              period_minutes: 60
              total: 0
              success: 1000
              admin:
                tokens: [{name: ops, token_env: BULWARK_ADMIN_TOKEN}]
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("admin-\(UUID().uuidString).yaml")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        var nodes: [LiveServer] = []
        var admins: [String] = []
        defer { for node in nodes { node.stop() } }
        for name in ["a", "b", "c"] {
            let port = try #require(freeLoopbackPort())
            let adminPort = try #require(freeLoopbackPort())
            nodes.append(try await LiveServer(
                "bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)", "--admin-port", "\(adminPort)", "--node", name],
                environment: ["BULWARK_ADMIN_TOKEN": Self.token], port: port
            ))
            admins.append("http://127.0.0.1:\(adminPort)")
        }
        // The admin listener starts beside the API one: wait for it.
        for admin in admins {
            var up = false
            for _ in 0..<300 where !up {
                up = try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(admin)/admin/login"]) == "200"
                if !up { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(up, "\(admin) did not answer")
        }
        let shots = ProcessInfo.processInfo.environment["BULWARK_ADMIN_SCREENSHOTS"] ?? ""
        let settings: [String: Any] = [
            "admins": admins, "apis": nodes.map(\.base), "token": Self.token, "gold_key": "sk-test-gold", "changes": 100,
        ]
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("admin-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: settings).write(to: json)
        let script = GatewayLiveTests.root.appendingPathComponent("Tests/BulwarkGatewayTests/admin_browser.py").path
        let output = try await run("bash", ["-c", "python3 '\(script)' '\(json.path)' \(shots) 2>&1; echo \"exit $?\""])
        print(output.split(separator: "\n").filter { $0.contains(": ok") || $0.hasPrefix("propagation") }.joined(separator: "\n"))
        for check in ["login: ok", "keyboard and rows: ok", "inline error: ok", "other node: ok", "usage: ok", "two tabs: ok", "markup as text: ok", "login limit: ok", "propagation: 100 changes"] {
            #expect(output.contains(check), "\(check) missing from: \(output)")
        }
        #expect(output.hasSuffix("exit 0"), "\(output)")
    }
}
