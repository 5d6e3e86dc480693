import Foundation

/// What an upstream answered: a status, its headers, and a whole body or a stream of
/// server-sent events (each event's `data`, without the `data: ` prefix; `[DONE]` is not one).
struct UpstreamReply: Sendable {
    enum Body: Sendable {
        case whole([UInt8])
        case events(AsyncThrowingStream<[UInt8], any Error>)
    }

    var status: Int
    var headers: [(name: String, value: String)]
    var body: Body
}

/// An OpenAI-compatible server the gateway sends requests to.
protocol Upstream: Sendable {
    /// Its name in the configuration.
    var name: String { get }
    /// Sends `body` to `path` (`chat/completions`, `embeddings`); a stream's reply is events.
    func send(path: String, body: [UInt8], stream: Bool) async throws -> UpstreamReply
}

/// The built-in upstream: OpenAI's reply shapes, with a configured latency before the reply (or
/// its first event), a number of output tokens (at most the request's maximum), and a pace for
/// streams. Its `usage` counts the prompt with the gateway's tokenizer, as the provider would.
struct MockUpstream: Upstream {
    let name: String
    let settings: GatewayConfiguration.MockSettings
    /// Counts a request's prompt tokens: the chat messages', or an embeddings input's.
    let promptTokens: @Sendable (_ path: String, _ body: [UInt8]) -> Int

    /// One output token of both encodings.
    static let word = " hello"

    func send(path: String, body: [UInt8], stream: Bool) async throws -> UpstreamReply {
        if settings.latencyMs > 0 { try await Task.sleep(for: .milliseconds(settings.latencyMs)) }
        let prompt = promptTokens(path, body)
        let created = Int(Date().timeIntervalSince1970)
        let id = "chatcmpl-\(UInt64.random(in: 0 ... .max))"
        guard path == "chat/completions" else {
            let reply = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0,0.0,0.0]}],"model":"mock","usage":{"prompt_tokens":\#(prompt),"total_tokens":\#(prompt)}}"#
            return UpstreamReply(status: 200, headers: [("content-type", "application/json")], body: .whole(Array(reply.utf8)))
        }
        let request = try? JSONDecoder().decode(ChatRequest.self, from: Data(body))
        let model = request?.model ?? "mock"
        let limit = request?.maximumOutput ?? Int.max
        let output = min(settings.outputTokens, limit)
        let finish = output < settings.outputTokens ? "length" : "stop"
        let usage = #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(output),"total_tokens":\#(prompt + output)}"#
        guard stream else {
            let content = String(repeating: Self.word, count: output)
            let reply = #"{"id":"\#(id)","object":"chat.completion","created":\#(created),"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"\#(finish)"}],"usage":\#(usage)}"#
            return UpstreamReply(status: 200, headers: [("content-type", "application/json")], body: .whole(Array(reply.utf8)))
        }
        let includeUsage = request?.streamOptions?.includeUsage == true
        let pace = settings.tokensPerSecond > 0 ? Duration.nanoseconds(1_000_000_000 / settings.tokensPerSecond) : nil
        let events = AsyncThrowingStream<[UInt8], any Error> { continuation in
            let task = Task {
                func chunk(_ delta: String, _ finish: String?) -> [UInt8] {
                    let reason = finish.map { "\"\($0)\"" } ?? "null"
                    return Array(#"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(reason)}]}"#.utf8)
                }
                continuation.yield(chunk(#"{"role":"assistant","content":""}"#, nil))
                for _ in 0 ..< output {
                    if let pace {
                        do { try await Task.sleep(for: pace) } catch { break }
                    }
                    continuation.yield(chunk(#"{"content":"\#(Self.word)"}"#, nil))
                }
                continuation.yield(chunk("{}", finish))
                if includeUsage {
                    continuation.yield(Array(#"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)","choices":[],"usage":\#(usage)}"#.utf8))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return UpstreamReply(status: 200, headers: [("content-type", "text/event-stream")], body: .events(events))
    }
}
