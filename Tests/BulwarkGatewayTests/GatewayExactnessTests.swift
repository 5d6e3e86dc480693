import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import Testing

/// Three nodes on one Redis under 60 s of `bulwark-load` at about three times the limits of four
/// keys (each limited by a different dimension): in every span of a minute no key was admitted
/// more requests or input tokens than its limits, and output tokens no more than the limit (the
/// mock never exceeds a request's maximum, so no debt is charged); each key used at least 97 % of
/// the limit that binds it. Then the same with Redis killed for 5 s mid-run: the nodes refuse
/// while it is down (`failure: closed`), the bound still holds (Redis keeping its data), and no
/// node crashes. A solo suite.
@Suite("bulwark-gateway on Redis, live: exact across three nodes under load", .serialized, .timeLimit(minutes: 6), .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"))
struct GatewayExactnessTests {
    /// Requests, input tokens and output tokens a minute; the binding one of each key.
    static let keys: [(key: String, limits: [Int], binding: Int)] = [
        ("sk-exact-requests", [120, 1_000_000, 1_000_000], 0),
        ("sk-exact-input", [100_000, 6_000, 1_000_000], 1),
        ("sk-exact-output", [100_000, 1_000_000, 1_500], 2),
        ("sk-exact-all", [120, 12_000, 1_800], 1),
    ]

    struct Sample: Decodable {
        var sent: Double
        var latency: Double
        var key: Int
        var status: Int
        var input: Int
        var output: Int
    }

    @Test("60 s at three times the limits: never over, at least 97 % used", arguments: [false, true])
    func underLoad(killingRedis: Bool) async throws {
        // Killed, Redis comes back with what it had acknowledged (an append-only file synced on
        // every write): a Redis that restarts empty forgets the minute's counts (see the guide).
        let redis = try await RedisServer.started(killingRedis ? ["--appendonly", "yes", "--appendfsync", "always"] : [])
        defer { redis.stop() }
        let prefix = uniquePrefix()
        let keyLines = Self.keys.enumerated().map { index, entry in
            "  - {id: k\(index), key: \(entry.key), limits: {rpm: \(entry.limits[0]), input_tpm: \(entry.limits[1]), output_tpm: \(entry.limits[2])}}"
        }.joined(separator: "\n")
        let configuration = """
            redis: {host: 127.0.0.1, port: \(redis.port), prefix: "\(prefix)", timeout_ms: 500}
            tokenizer: {directory: \(GatewayLiveTests.root.path)/.tiktoken}
            models:
              gpt-4o-mini: {upstreams: [mock]}
            upstreams:
              mock: {kind: mock, mock: {output_tokens: 16}}
            keys:
            \(keyLines)
            """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("exactness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let nodes = try await GatewayRedisLiveTests.threeNodes(configuration, file: directory.appendingPathComponent("gateway.yaml"))
        defer { for node in nodes { node.stop() } }

        // About three times what the binding limits admit: 6, 2.5, 4.7 and 6 requests a second.
        let samples = directory.appendingPathComponent("samples.json").path
        var arguments = ["--duration", "60", "--rate", "20", "--concurrency", "32", "--prompt-tokens", "20-200", "--max-tokens", "16-64",
                         "--stream-share", "0.2", "--report", directory.appendingPathComponent("report.html").path, "--json", samples]
        for node in nodes { arguments += ["--url", node.base] }
        for entry in Self.keys { arguments += ["--key", entry.key] }
        async let load = run(builtExecutable("bulwark-load").path, arguments)
        if killingRedis {
            try await Task.sleep(for: .seconds(25))
            try await redis.crash()
            try await Task.sleep(for: .seconds(5))
            try await redis.relaunch()
        }
        let table = try await load
        let decoded = try JSONDecoder().decode([Sample].self, from: Data(contentsOf: URL(fileURLWithPath: samples)))
        try #require(decoded.count > 1_000, "\(table)")

        let statuses = Dictionary(grouping: decoded, by: \.status).mapValues(\.count)
        #expect(Set(statuses.keys).isSubset(of: killingRedis ? [200, 429, 503] : [200, 429]), "statuses: \(statuses)")
        if killingRedis { #expect((statuses[503] ?? 0) > 0, "no request met the outage: \(statuses)") }
        for (index, entry) in Self.keys.enumerated() {
            let admitted = decoded.filter { $0.key == index && $0.status == 200 }.sorted { $0.sent < $1.sent }
            // Two admissions a minute apart were sent at least a minute less the slowest
            // latency apart: spans that long hold only admissions within one true minute.
            let span = 60 - (admitted.map(\.latency).max() ?? 0)
            let figures: [(Sample) -> Int] = [{ _ in 1 }, { $0.input }, { $0.output }]
            for (dimension, figure) in figures.enumerated() {
                var peak = 0
                var total = 0
                var first = 0
                for sample in admitted {
                    total += figure(sample)
                    while admitted[first].sent <= sample.sent - span {
                        total -= figure(admitted[first])
                        first += 1
                    }
                    peak = max(peak, total)
                }
                let limit = entry.limits[dimension]
                #expect(peak <= limit, "\(entry.key): \(peak) admitted in a minute in dimension \(dimension), limit \(limit)")
                if dimension == entry.binding {
                    #expect(Double(peak) >= 0.97 * Double(limit), "\(entry.key): only \(peak) of \(limit) used in dimension \(dimension)\n\(table)")
                }
            }
        }
        // Every reservation was settled or, met by the outage, never made.
        for index in Self.keys.indices {
            let fields = try await redis.command(["HKEYS", "\(prefix):reservations:{key:k\(index)}:gpt-4o-mini"])
            #expect(!fields.split(separator: "\n").contains { $0.hasPrefix("#") }, "k\(index): live reservations left: \(fields)")
        }
        for node in nodes { #expect(node.isRunning, "a node stopped: \(node.output)") }
    }
}
