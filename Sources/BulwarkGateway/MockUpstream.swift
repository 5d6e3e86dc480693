import BulwarkCore
import BulwarkHTTP
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
    /// Throws unless the upstream is up: the health check.
    func probe() async throws
}

/// The built-in upstream: OpenAI's reply shapes, with a configured latency before the reply (or
/// its first event), a number of output tokens (at most the request's maximum), and a pace for
/// streams. Its `usage` counts the prompt with the gateway's tokenizer, as the provider would.
///
/// It also fails as a provider does, when configured to (see ``GatewayConfiguration/MockSettings``):
/// outages (503), server errors (500), rationing (429 with `retry-after`, `retry-after-ms` and
/// `x-ratelimit-*`), and a requests-per-minute limit of its own announced on every reply.
struct MockUpstream: Upstream {
    let name: String
    let settings: GatewayConfiguration.MockSettings
    /// Counts a request's prompt tokens: the chat messages', or an embeddings input's.
    let promptTokens: @Sendable (_ path: String, _ body: [UInt8]) -> Int
    /// What it has answered, and its own limit's window.
    let state = LockedValue(MockState())
    let started = ContinuousClock.now

    init(name: String, settings: GatewayConfiguration.MockSettings, promptTokens: @escaping @Sendable (_ path: String, _ body: [UInt8]) -> Int) {
        self.name = name
        self.settings = settings
        self.promptTokens = promptTokens
    }

    /// One output token of both encodings.
    static let word = " hello"

    /// Whether it is in an outage now: the last `outage_seconds` of every `outage_every_seconds`.
    var isDown: Bool {
        guard settings.outageEverySeconds > 0, settings.outageSeconds > 0 else { return false }
        let elapsed = (ContinuousClock.now - started).components.seconds % Int64(settings.outageEverySeconds)
        return elapsed >= Int64(settings.outageEverySeconds - settings.outageSeconds)
    }

    /// The health probe: fails during an outage.
    func probe() async throws {
        if isDown { throw MockOutage() }
    }

    /// The reply before any work when a fault is due: an outage, a server error, rationing, or its
    /// own limit spent; else `nil`, with the limit's headers to send when it has one.
    func fault() -> (reply: UpstreamReply?, headers: [(name: String, value: String)]) {
        func error(_ status: Int, _ message: String, _ type: String, _ code: String?, _ headers: [(name: String, value: String)] = []) -> UpstreamReply {
            let body = OpenAIError.body(message, type: type, param: nil, code: code)
            return UpstreamReply(status: status, headers: [("content-type", "application/json")] + headers, body: .whole(body))
        }
        let down = isDown
        let elapsed = (ContinuousClock.now - started).components
        let nanoseconds = elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
        return state.withLock { state in
            state.requests += 1
            let n = state.requests
            /// Whether the n-th request is one of a `rate` share, spread evenly (0.25: every 4th).
            func due(_ rate: Double) -> Bool { rate > 0 && Int(Double(n) * rate) > Int(Double(n - 1) * rate) }
            if down {
                state.failed += 1
                return (error(503, "The server is overloaded or not ready yet.", "server_error", nil), [])
            }
            if due(settings.errorRate) {
                state.failed += 1
                return (error(500, "The server had an error while processing your request. Sorry about that!", "server_error", nil), [])
            }
            var limitHeaders: [(name: String, value: String)] = []
            if let rpm = settings.rpm {
                let window = nanoseconds / 60_000_000_000
                if window != state.window { (state.window, state.used) = (window, 0) }
                let reset = (window + 1) * 60_000_000_000 - nanoseconds
                let remaining = max(0, rpm - state.used - 1)
                limitHeaders = [
                    ("x-ratelimit-limit-requests", String(rpm)), ("x-ratelimit-remaining-requests", String(remaining)),
                    ("x-ratelimit-reset-requests", RateLimitHeaderWriter.goDuration(nanoseconds: reset)),
                ]
                if state.used >= rpm {
                    state.rateLimited += 1
                    let waitMs = reset.dividedRoundingUp(by: 1_000_000)
                    return (error(
                        429, "Rate limit reached for requests on the mock provider (\(rpm) per minute).", "requests", "rate_limit_exceeded",
                        limitHeaders + [("retry-after", String(waitMs.dividedRoundingUp(by: 1_000))), ("retry-after-ms", String(waitMs))]
                    ), [])
                }
                state.used += 1
            }
            if due(settings.rateLimitRate) {
                state.rateLimited += 1
                let waitMs = settings.retryAfterMs
                return (error(
                    429, "Rate limit reached for requests on the mock provider. Please try again in \(waitMs)ms.", "requests", "rate_limit_exceeded",
                    [("retry-after", String((waitMs + 999) / 1_000)), ("retry-after-ms", String(waitMs)), ("x-ratelimit-remaining-requests", "0"),
                     ("x-ratelimit-reset-requests", RateLimitHeaderWriter.goDuration(nanoseconds: Int64(waitMs) * 1_000_000))]
                ), [])
            }
            state.served += 1
            return (nil, limitHeaders)
        }
    }

    func send(path: String, body: [UInt8], stream: Bool) async throws -> UpstreamReply {
        if settings.latencyMs > 0 { try await Task.sleep(for: .milliseconds(settings.latencyMs)) }
        let (refusal, limitHeaders) = fault()
        if let refusal { return refusal }
        let prompt = promptTokens(path, body)
        let created = Int(Date().timeIntervalSince1970)
        let id = "chatcmpl-\(UInt64.random(in: 0 ... .max))"
        guard path == "chat/completions" else {
            let reply = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0,0.0,0.0]}],"model":"mock","usage":{"prompt_tokens":\#(prompt),"total_tokens":\#(prompt)}}"#
            return UpstreamReply(status: 200, headers: [("content-type", "application/json")] + limitHeaders, body: .whole(Array(reply.utf8)))
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
            return UpstreamReply(status: 200, headers: [("content-type", "application/json")] + limitHeaders, body: .whole(Array(reply.utf8)))
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
        return UpstreamReply(status: 200, headers: [("content-type", "text/event-stream")] + limitHeaders, body: .events(events))
    }
}

/// What the mock has answered (`GET /mock/stats` when served alone), and its own limit's window.
struct MockState: Sendable, Codable {
    /// Every request it received.
    var requests = 0
    /// The ones it served.
    var served = 0
    /// The ones it answered 429.
    var rateLimited = 0
    /// The ones it answered 500 or 503.
    var failed = 0
    var window: Int64 = -1
    var used = 0

    enum CodingKeys: String, CodingKey { case requests, served, rateLimited = "rate_limited", failed }
}

/// The mock's probe during an outage.
struct MockOutage: Error, CustomStringConvertible {
    var description: String { "the mock upstream is in an outage" }
}

extension GatewayConfiguration {
    /// How the built-in mock upstream answers, and how it fails.
    public struct MockSettings: Codable, Sendable {
        /// How long before the reply (or its first event), in milliseconds.
        public var latencyMs = 0
        /// How many output tokens a reply has (at most the request's maximum).
        public var outputTokens = 16
        /// How fast a stream sends them, per second; 0 sends them at once.
        public var tokensPerSecond = 0
        /// The share of requests answered 500, spread evenly (0.1: every tenth).
        public var errorRate = 0.0
        /// The share of requests answered 429 with `retry-after-ms: retry_after_ms`,
        /// `x-ratelimit-remaining-requests: 0` and the matching reset, spread evenly.
        public var rateLimitRate = 0.0
        /// The wait those 429s announce, in milliseconds (1000).
        public var retryAfterMs = 1_000
        /// The mock provider's own requests per minute, in fixed minutes from its start: every
        /// reply carries `x-ratelimit-limit|remaining|reset-requests`, and a request over it gets
        /// 429 with the wait to the next minute.
        public var rpm: Int?
        /// Outages: the last `outage_seconds` of every `outage_every_seconds` from its start, it
        /// answers 503 and fails its health probe; 0 for none.
        public var outageEverySeconds = 0
        /// How long each outage lasts, in seconds.
        public var outageSeconds = 0

        enum CodingKeys: String, CodingKey, CaseIterable {
            case latencyMs = "latency_ms", outputTokens = "output_tokens", tokensPerSecond = "tokens_per_second"
            case errorRate = "error_rate", rateLimitRate = "rate_limit_rate", retryAfterMs = "retry_after_ms", rpm
            case outageEverySeconds = "outage_every_seconds", outageSeconds = "outage_seconds"
        }

        /// The defaults: no latency, 16 output tokens at once, no fault.
        public init() {}

        /// Reads the settings; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            let defaults = MockSettings()
            latencyMs = try c.decode(.latencyMs, default: defaults.latencyMs)
            outputTokens = try c.decode(.outputTokens, default: defaults.outputTokens)
            tokensPerSecond = try c.decode(.tokensPerSecond, default: defaults.tokensPerSecond)
            errorRate = try c.decode(.errorRate, default: defaults.errorRate)
            rateLimitRate = try c.decode(.rateLimitRate, default: defaults.rateLimitRate)
            retryAfterMs = try c.decode(.retryAfterMs, default: defaults.retryAfterMs)
            rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
            outageEverySeconds = try c.decode(.outageEverySeconds, default: defaults.outageEverySeconds)
            outageSeconds = try c.decode(.outageSeconds, default: defaults.outageSeconds)
        }

        func validate(field: String) throws(BulwarkError) {
            guard latencyMs >= 0, outputTokens >= 0, tokensPerSecond >= 0, retryAfterMs >= 0 else {
                throw .invalidConfiguration(field: field, rule: "latency_ms, output_tokens, tokens_per_second and retry_after_ms must be at least 0")
            }
            for (name, rate) in [("error_rate", errorRate), ("rate_limit_rate", rateLimitRate)] where !(0 ... 1).contains(rate) {
                throw .invalidConfiguration(field: "\(field).\(name)", rule: "must be in 0...1")
            }
            if let rpm, rpm < 1 { throw .invalidConfiguration(field: "\(field).rpm", rule: "must be at least 1") }
            guard outageSeconds >= 0, outageEverySeconds >= 0, outageSeconds <= outageEverySeconds else {
                throw .invalidConfiguration(field: "\(field).outage_seconds", rule: "must be in 0...outage_every_seconds")
            }
        }
    }
}
