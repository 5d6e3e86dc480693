import AsyncHTTPClient
import BulwarkPrimitives
import Foundation
import NIOCore
import NIOHTTP1

/// One request as the load client saw it.
struct Sample: Codable, Sendable {
    /// Seconds from the run's start to the request's send, and its latency.
    var sent: Double
    var latency: Double
    var key: Int
    var url: Int
    /// The node that answered (`x-bulwark-node`), empty when none said.
    var node: String
    var status: Int
    var stream: Bool
    /// The usage the reply reported (0 when refused).
    var input: Int
    var output: Int
}

/// What the run sends.
struct LoadPlan: Sendable {
    var urls: [String]
    var keys: [String]
    var model: String
    var requests: Int?
    var duration: Double?
    var rate: Double?
    var concurrency: Int
    var promptTokens: ClosedRange<Int>
    var maxTokens: ClosedRange<Int>
    var streamShare: Double
    var seed: UInt64
}

/// Runs a plan: `concurrency` workers, each sending its next request when the last is answered
/// (or, with `rate`, when the schedule says), until `requests` are sent or `duration` is over.
actor LoadRun {
    let plan: LoadPlan
    let client: HTTPClient
    private var samples: [Sample] = []
    private var issued = 0
    /// The package's seeded generator, so that a run's choices repeat with its seed.
    private var generator: SplitMix64
    private let start = ContinuousClock.now

    init(plan: LoadPlan, client: HTTPClient) {
        self.plan = plan
        self.client = client
        generator = SplitMix64(seed: plan.seed)
    }

    /// The next request to send, and when (seconds from the start); `nil` when the run is over.
    private func next() -> (index: Int, at: Double, key: Int, url: Int, prompt: Int, maxTokens: Int, stream: Bool)? {
        if let requests = plan.requests, issued >= requests { return nil }
        let at = plan.rate.map { Double(issued) / $0 } ?? elapsed
        if let duration = plan.duration, at >= duration { return nil }
        defer { issued += 1 }
        return (
            issued, at, Int.random(in: 0 ..< plan.keys.count, using: &generator), Int.random(in: 0 ..< plan.urls.count, using: &generator),
            Int.random(in: plan.promptTokens, using: &generator), Int.random(in: plan.maxTokens, using: &generator),
            Double.random(in: 0 ..< 1, using: &generator) < plan.streamShare
        )
    }

    private var elapsed: Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func record(_ sample: Sample) {
        samples.append(sample)
    }

    /// Runs every worker to the end; the samples, in the order they were answered.
    func run(progress: @escaping @Sendable (Int) -> Void) async -> [Sample] {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0 ..< plan.concurrency {
                group.addTask {
                    while let request = await self.next() {
                        let wait = request.at - (await self.elapsed)
                        if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                        let sample = await self.send(request.key, request.url, request.prompt, request.maxTokens, request.stream)
                        await self.record(sample)
                        progress(await self.samples.count)
                    }
                }
            }
        }
        return samples
    }

    /// Sends one chat request; streams ask for the usage chunk.
    private func send(_ key: Int, _ url: Int, _ prompt: Int, _ maxTokens: Int, _ stream: Bool) async -> Sample {
        // " hello" is one token in both encodings; the chat format adds its overhead.
        let content = String(repeating: " hello", count: max(0, prompt))
        let streamFields = stream ? #","stream":true,"stream_options":{"include_usage":true}"# : ""
        let body = #"{"model":"\#(plan.model)","messages":[{"role":"user","content":"\#(content)"}],"max_tokens":\#(maxTokens)\#(streamFields)}"#
        var request = HTTPClientRequest(url: plan.urls[url] + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(plan.keys[key])")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let sent = elapsed
        var sample = Sample(sent: sent, latency: 0, key: key, url: url, node: "", status: 0, stream: stream, input: 0, output: 0)
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            sample.status = Int(response.status.code)
            sample.node = response.headers.first(name: "x-bulwark-node") ?? ""
            var text = ""
            for try await buffer in response.body { text += String(buffer: buffer) }
            if sample.status == 200, let usage = Self.usage(in: text) {
                sample.input = usage.input
                sample.output = usage.output
            }
        } catch {
            sample.status = -1
        }
        sample.latency = elapsed - sent
        return sample
    }

    /// The last `"usage":{…}` of a reply or a stream.
    static func usage(in text: String) -> (input: Int, output: Int)? {
        guard let range = text.range(of: #""usage":{"#, options: .backwards) else { return nil }
        let tail = text[range.upperBound...]
        func figure(_ name: String) -> Int? {
            guard let field = tail.range(of: "\"\(name)\":") else { return nil }
            return Int(tail[field.upperBound...].prefix { $0.isNumber })
        }
        guard let input = figure("prompt_tokens") else { return nil }
        return (input, figure("completion_tokens") ?? 0)
    }
}
