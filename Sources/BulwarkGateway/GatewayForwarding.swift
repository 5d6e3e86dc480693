import BulwarkCircuitBreaker
import BulwarkCore
import BulwarkHTTP
import BulwarkHealth
import BulwarkTimeout
import BulwarkTokenizer
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A request the gateway understood: its model, what it reserves, and the body to send upstream.
struct ParsedRequest: Sendable {
    var model: String
    /// Requests, input tokens, output tokens.
    var estimate: [Int]
    var upstreamBody: [UInt8]
    var stream: Bool
    /// Whether the client asked for the usage chunk at a stream's end.
    var clientWantsUsage: Bool
    var upstreams: [String]
    var encoding: Tokenizer.Encoding
}

/// A request refused before it is counted: a bad body, an unknown model, a bad maximum.
struct Refusal: Error {
    var response: Response
}

/// Counts prompts with the configured tokenizers, or estimates them (4 bytes a token) for an
/// encoding whose rank file is missing. The counts of texts of 64 bytes or more are kept (see
/// ``CountCache``): a conversation sends its whole history again with every turn, and a
/// system prompt comes with every request.
final class PromptCounter: Sendable {
    let configuration: GatewayConfiguration
    let tokenizers: [Tokenizer.Encoding: Tokenizer]
    let caches: [Tokenizer.Encoding: CountCache]

    init(configuration: GatewayConfiguration, tokenizers: [Tokenizer.Encoding: Tokenizer]) {
        self.configuration = configuration
        self.tokenizers = tokenizers
        var caches: [Tokenizer.Encoding: CountCache] = [:]
        for encoding in tokenizers.keys { caches[encoding] = CountCache(bytes: 8 << 20) }
        self.caches = caches
    }

    func count(_ text: String, _ encoding: Tokenizer.Encoding) -> Int {
        guard let tokenizer = tokenizers[encoding], let cache = caches[encoding] else { return (text.utf8.count + 3) / 4 }
        return cache.count(text) { tokenizer.count($0) }
    }

    func count(chat messages: [ChatMessage], _ encoding: Tokenizer.Encoding) -> Int {
        Tokenizer.countChat(messages) { count($0, encoding) }
    }

    func count(embeddings request: EmbeddingsRequest, _ encoding: Tokenizer.Encoding) -> Int {
        request.input.reduce(0) { total, input in
            switch input {
            case .text(let text): total + count(text, encoding)
            case .tokens(let count): total + count
            }
        }
    }

    /// The prompt tokens of a body sent to `path`, 0 when it cannot be read (the mock's usage).
    func count(path: String, body: [UInt8]) -> Int {
        let decoder = JSONDecoder()
        if path == "chat/completions", let chat = try? decoder.decode(ChatRequest.self, from: Data(body)) {
            return count(chat: chat.chatMessages, encoding(chat.model))
        }
        if let embeddings = try? decoder.decode(EmbeddingsRequest.self, from: Data(body)) {
            return count(embeddings: embeddings, encoding(embeddings.model))
        }
        return 0
    }

    func encoding(_ model: String) -> Tokenizer.Encoding {
        configuration.models[model].map { Gateway.encoding(of: model, $0) } ?? Tokenizer.encoding(forModel: model) ?? .o200kBase
    }
}

extension Gateway {
    /// Reads a chat or embeddings body: OpenAI's 400 for JSON it cannot read or a bad maximum, 404
    /// for a model it does not serve.
    func parse(_ bytes: [UInt8], path: String) -> Result<ParsedRequest, Refusal> {
        let decoder = JSONDecoder()
        func invalid(_ message: String, param: String? = nil, code: String? = nil) -> Result<ParsedRequest, Refusal> {
            .failure(Refusal(response: OpenAIError.response(.badRequest, message, param: param, code: code)))
        }
        func unknown(_ model: String) -> Result<ParsedRequest, Refusal> {
            .failure(Refusal(response: OpenAIError.response(
                .notFound, "The model `\(model)` does not exist or you do not have access to it.", code: "model_not_found"
            )))
        }
        if path == "embeddings" {
            guard let request = try? decoder.decode(EmbeddingsRequest.self, from: Data(bytes)) else {
                return invalid("We could not parse the JSON body of your request: it needs `model` and `input` (a string, strings, or tokens).")
            }
            guard let model = configuration.models[request.model], model.embedding else { return unknown(request.model) }
            let encoding = Self.encoding(of: request.model, model)
            return .success(ParsedRequest(
                model: request.model, estimate: [1, counter.count(embeddings: request, encoding), 0], upstreamBody: bytes, stream: false,
                clientWantsUsage: false, upstreams: model.upstreams, encoding: encoding
            ))
        }
        let request: ChatRequest
        do {
            request = try decoder.decode(ChatRequest.self, from: Data(bytes))
        } catch {
            return invalid("We could not parse the JSON body of your request: it needs `model` and `messages` (each with a `role`).")
        }
        guard let model = configuration.models[request.model], !model.embedding else { return unknown(request.model) }
        if let maximum = request.maximumOutput {
            guard maximum >= 1 else {
                return invalid(
                    "Invalid '\(request.maximumOutputField)': integer below minimum value. Expected a value >= 1, but got \(maximum) instead.",
                    param: request.maximumOutputField, code: "integer_below_min_value"
                )
            }
            guard maximum <= model.maxOutput else {
                return invalid(
                    "\(request.maximumOutputField) is too large: \(maximum). This model supports at most \(model.maxOutput) completion tokens, whereas you provided \(maximum).",
                    param: request.maximumOutputField, code: "invalid_value"
                )
            }
        }
        let encoding = Self.encoding(of: request.model, model)
        let stream = request.stream == true
        let wantsUsage = request.streamOptions?.includeUsage == true
        return .success(ParsedRequest(
            model: request.model, estimate: [1, counter.count(chat: request.chatMessages, encoding), request.maximumOutput ?? model.defaultMaxOutput],
            upstreamBody: stream && !wantsUsage ? Self.askingForUsage(bytes) : bytes, stream: stream, clientWantsUsage: wantsUsage,
            upstreams: model.upstreams, encoding: encoding
        ))
    }

    /// The body with `"stream_options": {"include_usage": true}`: appended before the closing
    /// brace when the client sent no `stream_options` (every other byte as sent), else rewritten.
    static func askingForUsage(_ body: [UInt8]) -> [UInt8] {
        if var object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], object["stream_options"] != nil {
            var options = object["stream_options"] as? [String: Any] ?? [:]
            options["include_usage"] = true
            object["stream_options"] = options
            return (try? JSONSerialization.data(withJSONObject: object)).map { Array($0) } ?? body
        }
        guard let close = body.lastIndex(of: UInt8(ascii: "}")) else { return body }
        return Array(body[..<close]) + Array(#","stream_options":{"include_usage":true}"#.utf8) + Array(body[close...])
    }

    /// Sends the request to the model's upstreams in order, each behind its breaker and timeout,
    /// and answers the client from the first that serves it, settling the reservation with the
    /// reply's usage. An upstream cooling off (it said it is out), out of rotation (failed probes)
    /// or behind an open breaker is passed over; one that fails (an error, a timeout, a 5xx) or
    /// rations (a 429) hands the request to the next. When none serves, the last answer is the
    /// client's: the request counts without its tokens if it was sent to one, and not at all if
    /// none was called (then, if an upstream is cooling off, 429 with the rest of its wait).
    func forward(_ request: ParsedRequest, path: String, headers: HTTPFields, ticket: GatewayLedger.Ticket?) async throws -> Response {
        var refusal: Response?
        var cooling: Int64?
        var sent = false
        for name in request.upstreams {
            guard let upstream = upstreams[name], let breaker = breakers[name] else { continue }
            let wait = cooldowns.remaining(name)
            if wait > 0 {
                cooling = min(cooling ?? wait, wait)
                metrics.upstream(name, "cooling")
                continue
            }
            guard health.isEnabled(name) else {
                metrics.upstream(name, "unhealthy")
                refusal = OpenAIError.response(
                    .serviceUnavailable, "The upstream \(name) is out of rotation: its health checks fail.", type: "server_error",
                    code: "upstream_unavailable", headers: headers
                )
                continue
            }
            let permit: CircuitPermit
            do {
                permit = try breaker.tryAcquirePermit()
            } catch {
                metrics.upstream(name, "open")
                refusal = OpenAIError.response(
                    .serviceUnavailable, "The upstream \(name) is failing; its circuit is open.", type: "server_error", code: "upstream_unavailable",
                    headers: headers
                )
                continue
            }
            sent = true
            let seconds = configuration.upstreams[name]?.timeoutSeconds ?? 600
            do {
                let reply = try await Timeout(.seconds(seconds)).execute(ResilienceContext(operationName: "upstream \(name)")) { _ in
                    try await upstream.send(path: path, body: request.upstreamBody, stream: request.stream)
                }
                metrics.upstream(name, String(reply.status))
                let announced = cooldowns.observe(name, status: reply.status, headers: reply.headers)
                if announced > 0 {
                    logger.info("upstream cooling off", metadata: ["upstream": "\(name)", "status": "\(reply.status)", "wait_ms": "\(announced / 1_000_000)"])
                }
                switch reply.status {
                case 429:
                    breaker.record(permit, .rateLimited)
                    refusal = passThrough(reply, headers: headers)
                case 500...:
                    breaker.record(permit, .failure)
                    refusal = passThrough(reply, headers: headers)
                default:
                    breaker.record(permit, .success)
                    return await answer(reply, request: request, headers: headers, ticket: ticket)
                }
            } catch {
                breaker.record(permit, .failure)
                let timedOut = (error as? BulwarkError).map { if case .timedOut = $0 { true } else { false } } ?? false
                metrics.upstream(name, timedOut ? "timeout" : "error")
                logger.warning("upstream failed", metadata: ["upstream": "\(name)", "error": "\(error)"])
                refusal = OpenAIError.response(
                    timedOut ? .gatewayTimeout : .badGateway,
                    timedOut ? "The upstream \(name) did not answer within \(seconds) s." : "The upstream \(name) failed: \(error).",
                    type: "server_error", code: timedOut ? "upstream_timeout" : "upstream_error", headers: headers
                )
            }
        }
        guard sent else {
            // Nothing was sent: nothing counts.
            await ticket?.settle([0, 0, 0], false)
            if let cooling {
                var fields = headers
                RateLimitHeaderWriter.writeRetryAfter(nanoseconds: cooling, into: &fields)
                return OpenAIError.response(
                    .tooManyRequests,
                    "The provider of \(request.model) is rate limiting this gateway. Please try again in \(String(format: "%.3f", Double(cooling) / 1e9))s.",
                    type: "requests", code: "rate_limit_exceeded", headers: fields
                )
            }
            return refusal ?? OpenAIError.response(
                .serviceUnavailable, "No upstream serves \(request.model) now.", type: "server_error", code: "upstream_unavailable", headers: headers
            )
        }
        // Sent, and no upstream served it: the request counts, its tokens go back.
        await ticket?.settle([1, 0, 0], false)
        return refusal ?? OpenAIError.response(
            .serviceUnavailable, "No upstream serves \(request.model) now.", type: "server_error", code: "upstream_unavailable", headers: headers
        )
    }

    /// An upstream's refusal as the client's answer: its status, type and body, with the
    /// gateway's rate-limit fields.
    private func passThrough(_ reply: UpstreamReply, headers: HTTPFields) -> Response {
        var fields = headers
        for (name, value) in reply.headers {
            let lower = name.lowercased()
            if lower == "content-type" || lower == "retry-after" || lower == "retry-after-ms", let field = HTTPField.Name(name) { fields[field] = value }
        }
        guard case .whole(let body) = reply.body else { return Response(status: .init(code: reply.status), headers: fields) }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A served reply as the client's answer; the reservation settled with its usage (a stream's
    /// once it ends).
    private func answer(_ reply: UpstreamReply, request: ParsedRequest, headers: HTTPFields, ticket: GatewayLedger.Ticket?) async -> Response {
        var fields = headers
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name), name.lowercased() == "content-type" { fields[field] = value }
        }
        switch reply.body {
        case .whole(let body):
            if reply.status == 200, let usage = Usage.read(body) {
                await ticket?.settle([1, usage.promptTokens, usage.completionTokens ?? 0], true)
            } else if reply.status != 200 {
                await ticket?.settle([1, 0, 0], (200..<300).contains(reply.status))
            } else {
                // No usage: the reservation stands at its estimate.
                await ticket?.settle(request.estimate, true)
            }
            return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .events(let events):
            fields[.contentType] = "text/event-stream"
            fields[.cacheControl] = "no-cache"
            let tokenizer = tokenizers[request.encoding]
            let prompt = request.estimate[1]
            return Response(status: .ok, headers: fields, body: ResponseBody { writer in
                var delivered = 0
                var usage: Usage?
                var completed = false
                do {
                    for try await event in events {
                        if event.count > 9, String(decoding: event, as: UTF8.self).contains(#""usage":{"#), let read = Usage.read(event) {
                            usage = read
                            if !request.clientWantsUsage { continue }
                        }
                        let content = Self.deltaContent(event)
                        try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + event + Array("\n\n".utf8)))
                        delivered += tokenizer?.count(content) ?? (content.utf8.count + 3) / 4
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    completed = true
                } catch {
                    // The client went away, or the upstream's stream broke: charged what was delivered.
                }
                if completed, let usage {
                    await ticket?.settle([1, usage.promptTokens, usage.completionTokens ?? delivered], true)
                } else {
                    // A stream cut short is not a success.
                    await ticket?.settle([1, prompt, delivered], completed)
                }
                try await writer.finish(nil)
            })
        }
    }

    /// The text of a chunk's `choices[0].delta.content`, empty when it has none.
    static func deltaContent(_ event: [UInt8]) -> String {
        struct Chunk: Decodable {
            struct Choice: Decodable {
                struct Delta: Decodable { var content: String? }
                var delta: Delta?
            }
            var choices: [Choice]?
        }
        return (try? JSONDecoder().decode(Chunk.self, from: Data(event)))?.choices?.first?.delta?.content ?? ""
    }
}
