// bulwark-load: the load client of bulwark-gateway (docs/Gateway.md). Sends chat requests from
// several keys to several nodes, then prints per key what was sent, answered and admitted (the
// most in any 60 s span, against the limits given) and the latencies; writes an HTML report with
// charts and, on request, every sample as JSON.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulwark-load",
        abstract: "Loads bulwark-gateway nodes with chat requests and reports what each key was admitted.",
        discussion: """
        Each request goes to a random node (--url, repeated) with a random key (--key, repeated), a \
        prompt of --prompt-tokens tokens and a max_tokens of --max-tokens, both drawn uniformly, and is a \
        stream (asking for the usage chunk) with probability --stream-share. The run ends after \
        --requests requests or --duration seconds; --rate paces the sends (requests per second, all \
        workers together), else each of --concurrency workers sends when its last request is answered.
        """
    )

    @Option(name: .customLong("url"), help: "A node's base URL (repeat for several nodes).")
    var urls: [String] = ["http://127.0.0.1:8080"]

    @Option(name: .customLong("key"), help: "An API key (repeat for several keys).")
    var keys: [String] = ["sk-bulwark-demo"]

    @Option(help: "The model requested.")
    var model = "gpt-4o-mini"

    @Option(help: "How many requests to send (the default when neither this nor --duration is given: 100).")
    var requests: Int?

    @Option(help: "How long to send, in seconds.")
    var duration: Double?

    @Option(help: "Requests per second over all workers (open loop); without it each worker sends when answered.")
    var rate: Double?

    @Option(help: "How many requests may be in flight at once.")
    var concurrency = 16

    @Option(name: .customLong("prompt-tokens"), help: "The prompt's tokens, as N or MIN-MAX.")
    var promptTokens = "20-200"

    @Option(name: .customLong("max-tokens"), help: "The max_tokens of each request, as N or MIN-MAX.")
    var maxTokens = "16-64"

    @Option(name: .customLong("stream-share"), help: "The share of requests sent as streams, 0 to 1.")
    var streamShare = 0.2

    @Option(name: .customLong("limit"), help: "A key's limits for the table, KEY=RPM/INPUT_TPM/OUTPUT_TPM (- for none; repeat).")
    var limits: [String] = []

    @Option(help: "The seed of the random choices (the same seed, the same requests).")
    var seed: UInt64 = 1

    @Option(help: "Where to write the HTML report.")
    var report = "bulwark-load-report.html"

    @Option(help: "Where to write every sample as JSON (none by default).")
    var json: String?

    func validate() throws {
        guard !urls.isEmpty, !keys.isEmpty else { throw ValidationError("--url and --key need at least one value each") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard (0 ... 1).contains(streamShare) else { throw ValidationError("--stream-share must be in 0...1") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be above 0") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be above 0") }
        _ = try Self.range(promptTokens, "--prompt-tokens")
        _ = try Self.range(maxTokens, "--max-tokens")
        _ = try parsedLimits()
    }

    static func range(_ text: String, _ flag: String) throws -> ClosedRange<Int> {
        let parts = text.split(separator: "-").map { Int($0) }
        switch parts.count {
        case 1: if let value = parts[0], value >= 0 { return value ... value }
        case 2: if let low = parts[0], let high = parts[1], 0 <= low, low <= high { return low ... high }
        default: break
        }
        throw ValidationError("\(flag) must be N or MIN-MAX with 0 <= MIN <= MAX (got \(text))")
    }

    func parsedLimits() throws -> [String: KeyLimits] {
        var parsed: [String: KeyLimits] = [:]
        for text in limits {
            let sides = text.split(separator: "=", maxSplits: 1)
            let figures = sides.count == 2 ? sides[1].split(separator: "/", omittingEmptySubsequences: false).map { $0 == "-" ? nil : Int($0) } : []
            guard sides.count == 2, figures.count == 3, zip(figures, sides[1].split(separator: "/", omittingEmptySubsequences: false)).allSatisfy({ $0 != nil || $1 == "-" })
            else { throw ValidationError("--limit must be KEY=RPM/INPUT_TPM/OUTPUT_TPM (got \(text))") }
            parsed[String(sides[0])] = KeyLimits(figures: figures)
        }
        return parsed
    }

    func run() async throws {
        let plan = LoadPlan(
            urls: urls, keys: keys, model: model, requests: requests ?? (duration == nil ? 100 : nil), duration: duration, rate: rate,
            concurrency: concurrency, promptTokens: try Self.range(promptTokens, "--prompt-tokens"),
            maxTokens: try Self.range(maxTokens, "--max-tokens"), streamShare: streamShare, seed: seed
        )
        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
        let total = plan.requests
        let started = ContinuousClock.now
        let samples = await LoadRun(plan: plan, client: client).run { done in
            guard done % 50 == 0 else { return }
            let elapsed = (ContinuousClock.now - started).components.seconds
            let fraction = total.map { Double(done) / Double($0) } ?? min(1, Double(elapsed) / (plan.duration ?? 1))
            let bar = String(repeating: "#", count: Int(fraction * 30)) + String(repeating: ".", count: 30 - Int(fraction * 30))
            FileHandle.standardError.write(Data("\r[\(bar)] \(done) answered, \(elapsed) s".utf8))
        }
        try await client.shutdown()
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = ContinuousClock.now - started
        let limits = try parsedLimits()
        let summaries = keys.indices.map { index in KeySummary(key: keys[index], samples: samples.filter { $0.key == index }) }
        let table = LoadReport.table(summaries, limits: limits, seconds: Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18)
        print(table)
        try LoadReport.html(samples, keys: keys, summaries: summaries, limits: limits, table: table).write(toFile: report, atomically: true, encoding: .utf8)
        print("report: \(report)")
        if let json {
            let encoder = JSONEncoder()
            try encoder.encode(samples).write(to: URL(fileURLWithPath: json))
            print("samples: \(json)")
        }
    }
}
