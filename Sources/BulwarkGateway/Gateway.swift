public import BulwarkCore
import AsyncHTTPClient
public import BulwarkAdmin
import BulwarkCircuitBreaker
import BulwarkHTTP
import BulwarkHealth
import BulwarkHummingbird
import BulwarkLifecycle
import BulwarkRedisClient
import BulwarkTimeout
import BulwarkTokenizer
import Foundation
import HTTPTypes
public import Hummingbird
import Logging
public import ServiceLifecycle
import UnixSignals

/// An OpenAI-compatible gateway that limits each API key's requests, input tokens and output
/// tokens per minute (see ``GatewayConfiguration`` for the limits, and the guide for the rules):
/// `POST /v1/chat/completions` (JSON or a stream of server-sent events), `POST /v1/embeddings`,
/// `GET /v1/models`, `GET /health/live`.
///
/// A request is authenticated by its bearer key, its prompt counted with the model's tokenizer,
/// and `[1, prompt tokens, output maximum]` reserved in every limit that applies, all or none;
/// after the reply the reservation is settled with the upstream's `usage`. A refused request
/// gets 429 with OpenAI's body and the exact wait in `Retry-After` and `retry-after-ms`; every
/// answer carries `x-ratelimit-limit|remaining|reset-requests|tokens`, streams included (the
/// head is written before the first event).
public struct Gateway: Sendable {
    /// The configuration it serves.
    public let configuration: GatewayConfiguration
    /// What the gateway could not set up as asked but serves anyway (rank files missing: token
    /// counts are estimates), to print at start-up.
    public let warnings: [String]
    let ledger: GatewayLedger
    let keys: [String: GatewayConfiguration.Key]
    let tokenizers: [Tokenizer.Encoding: Tokenizer]
    /// The tokenizers with the counts of texts seen lately.
    let counter: PromptCounter
    let upstreams: [String: any Upstream]
    /// One breaker per upstream: half the calls of the last 20 failing (at least 10) open it.
    let breakers: [String: CircuitBreaker<ContinuousClock>]
    /// The upstreams' probes and breakers: one out of rotation is passed over.
    let health: HealthChecker<ContinuousClock>
    /// Provider header sync: upstreams that said they are out, until when.
    let cooldowns: UpstreamCooldowns
    let metrics = GatewayMetrics()
    let logger: Logger
    let node: String
    let redis: RedisClient?
    /// The group quotas, once ``prepared()`` has read their settings; `nil` without a `quotas`
    /// section.
    public private(set) var quotas: GroupQuotas?

    /// A gateway for `configuration`: its tokenizers loaded, its Redis client made (connections
    /// open on first use).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field at fault.
    public init(configuration: GatewayConfiguration) throws(BulwarkError) {
        try configuration.validate()
        self.configuration = configuration
        var redis: RedisClient?
        if let settings = configuration.redis {
            redis = try RedisClient(configuration: RedisConfiguration(
                endpoints: [RedisEndpoint(host: settings.host, port: settings.port)], cluster: settings.cluster,
                commandTimeout: .milliseconds(settings.timeoutMs)
            ))
        }
        self.redis = redis
        ledger = try GatewayLedger(configuration: configuration, redis: redis)
        var keys: [String: GatewayConfiguration.Key] = [:]
        for key in configuration.keys { if let digest = key.digest { keys[digest] = key } }
        self.keys = keys
        var tokenizers: [Tokenizer.Encoding: Tokenizer] = [:]
        var warnings: [String] = []
        let needed = Set(configuration.models.map { Self.encoding(of: $0.key, $0.value) })
        for encoding in Tokenizer.Encoding.allCases where needed.contains(encoding) {
            let path = configuration.tokenizer.directory + "/" + encoding.fileName
            do {
                tokenizers[encoding] = try Tokenizer(encoding, ranksFile: path)
            } catch {
                warnings.append("\(error): \(encoding.rawValue) token counts are estimates (4 bytes a token) until the file is there (scripts/fetch-tiktoken)")
            }
        }
        self.tokenizers = tokenizers
        self.warnings = warnings
        node = configuration.node ?? ProcessInfo.processInfo.hostName
        var upstreams: [String: any Upstream] = [:]
        // One client for every HTTP upstream: a connection that cannot be made fails at once (2 s
        // at most), so that the next upstream is tried rather than the pool retrying until the
        // call's deadline.
        var http = HTTPClient.Configuration()
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        http.connectionPool.retryConnectionEstablishment = false
        http.timeout = .init(connect: .seconds(2))
        let client = configuration.upstreams.values.contains { $0.kind != "mock" } ? HTTPClient(eventLoopGroupProvider: .singleton, configuration: http) : nil
        var breakers: [String: CircuitBreaker<ContinuousClock>] = [:]
        let counter = PromptCounter(configuration: configuration, tokenizers: tokenizers)
        self.counter = counter
        for (name, upstream) in configuration.upstreams {
            if upstream.kind == "mock" {
                upstreams[name] = MockUpstream(name: name, settings: upstream.mock) { path, body in counter.count(path: path, body: body) }
            } else {
                let key = upstream.apiKeyEnv.flatMap { ProcessInfo.processInfo.environment[$0] }
                upstreams[name] = HTTPUpstream(name: name, baseURL: upstream.url ?? "", apiKey: key, client: client ?? HTTPClient.shared)
            }
            var breaker = CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 10)
            breaker.window = .count(20)
            breaker.openDuration = .fixed(.seconds(30))
            breakers[name] = try CircuitBreaker(configuration: breaker)
        }
        self.upstreams = upstreams
        self.breakers = breakers
        health = try Self.healthChecker(configuration, upstreams: upstreams, breakers: breakers)
        cooldowns = UpstreamCooldowns(
            redis: redis, key: configuration.redis?.key(tag: "cooldowns") ?? "", interval: .milliseconds(configuration.redis?.cooldownPollMs ?? 250)
        )
        var logger = Logger(label: "bulwark.gateway")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        logger[metadataKey: "node"] = .string(node)
        self.logger = logger
    }

    /// The model's encoding: configured, else tiktoken's for its name, else `o200k_base`.
    static func encoding(of name: String, _ model: GatewayConfiguration.Model) -> Tokenizer.Encoding {
        model.encoding ?? Tokenizer.encoding(forModel: model.upstreamModel ?? name) ?? .o200kBase
    }

    /// The routes, on a router of any context: the API, `/health/live`, `/health/ready` and
    /// `/metrics`. Run ``services`` beside them (``run()`` does).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addOperationsRoutes(to: router)
        router.get("v1/models") { _, _ in models() }
        for path in ["chat/completions", "embeddings"] {
            router.post("v1/\(path)") { request, _ in
                let started = ContinuousClock.now
                let response = try await serve(request, path: path)
                metrics.request(route: path, status: response.status.code, duration: ContinuousClock.now - started)
                return response
            }
        }
    }

    /// What must run beside the routes: the upstreams' health checks, the reading of the shared
    /// cooldowns from Redis, and the following of the quotas' settings; each stops on graceful
    /// shutdown.
    public var services: [any Service] { [health.service, cooldowns.service] + (quotas.map { [$0.service] } ?? []) }

    /// This gateway with its group quotas' settings read (from Redis, or from the quotas file, the
    /// configuration's first settings saved there when there are none): call it before serving.
    ///
    /// - Throws: `QuotaSaveError` when the settings cannot be read.
    public func prepared() async throws -> Gateway {
        guard let section = configuration.quotas, quotas == nil else { return self }
        var gateway = self
        let interval = Duration.milliseconds(section.checkIntervalMs)
        if let redis, let settings = configuration.redis {
            gateway.quotas = try await GroupQuotas.onRedis(
                initial: section.settings, client: redis, prefix: settings.prefix, timeout: .milliseconds(settings.timeoutMs), checkInterval: interval
            )
        } else {
            gateway.quotas = try await GroupQuotas.inMemory(initial: section.settings, file: section.file, checkInterval: interval)
        }
        return gateway
    }

    /// The admin page and API of the quotas (`QuotaAdmin`), when the configuration names admin
    /// tokens and ``prepared()`` has run.
    public func admin() throws(BulwarkError) -> QuotaAdmin? {
        guard let quotas, let section = configuration.quotas, !section.admin.tokens.isEmpty else { return nil }
        let groups = Array(Set(configuration.keys.compactMap { key -> String? in
            if case .group(let name) = configuration.quotaIdentity(of: key) { return name }
            return nil
        }))
        return try QuotaAdmin(
            quotas: quotas, tokens: try section.admin.credentials(), node: node, secureCookies: section.admin.secureCookies,
            failedLoginsPerMinute: section.admin.failedLoginsPerMinute, groups: { groups }
        )
    }

    /// Serves the mock provider alone (`bulwark-gateway --serve-mock`): `/v1/chat/completions` and
    /// `/v1/embeddings` answered as the configuration's first mock upstream answers (latency,
    /// output, pace), with no key and no limit; what a gateway, LiteLLM or a load test calls as
    /// its upstream.
    public func runMock() async throws {
        let name = configuration.upstreams.keys.sorted().first { configuration.upstreams[$0]?.kind == "mock" }
        let settings = name.flatMap { configuration.upstreams[$0]?.mock } ?? GatewayConfiguration.MockSettings()
        let counter = self.counter
        let mock = MockUpstream(name: "mock", settings: settings) { path, body in counter.count(path: path, body: body) }
        let router = Router()
        router.get("health/live") { _, _ in Response(status: .ok) }
        router.get("v1/models") { _, _ in mock.isDown ? Response(status: .serviceUnavailable) : models() }
        router.get("mock/stats") { _, _ in
            Self.json(.ok, String(decoding: (try? JSONEncoder().encode(mock.state.withLock { $0 })) ?? Data(), as: UTF8.self))
        }
        for path in ["chat/completions", "embeddings"] {
            router.post("v1/\(path)") { request, _ in
                let body = Array(buffer: try await request.body.collect(upTo: configuration.maxBodyBytes))
                let stream = (try? JSONDecoder().decode(ChatRequest.self, from: Data(body)))?.stream == true
                let reply = try await mock.send(path: path, body: body, stream: stream)
                var fields = HTTPFields()
                for (name, value) in reply.headers { if let field = HTTPField.Name(name) { fields[field] = value } }
                switch reply.body {
                case .whole(let bytes):
                    return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                case .events(let events):
                    return Response(status: .ok, headers: fields, body: ResponseBody { writer in
                        for try await event in events { try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + event + Array("\n\n".utf8))) }
                        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                        try await writer.finish(nil)
                    })
                }
            }
        }
        let application = Application(
            router: router, configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port))
        )
        try await application.runService()
    }

    /// Serves on the configured address, with its ``services``, until the process gets SIGTERM
    /// or SIGINT; then stops taking connections and returns once the requests in flight (streams
    /// included) are answered and settled. The quotas' settings are read first, and their admin
    /// page served on its own listener (`quotas.admin`, localhost by default).
    public func run() async throws {
        let gateway = try await prepared()
        let router = Router()
        gateway.addRoutes(to: router)
        var services: [any Service] = [
            Application(router: router, configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port)), logger: logger)
        ]
        if let admin = try gateway.admin(), let section = configuration.quotas {
            let adminRouter = Router(context: PeerRequestContext.self)
            admin.addRoutes(to: adminRouter)
            services.append(Application(
                router: adminRouter, configuration: .init(address: .hostname(section.admin.host, port: section.admin.port), serverName: "bulwark-admin"),
                logger: logger
            ))
        }
        let group = ServiceGroup(
            configuration: .init(services: services + gateway.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func models() -> Response {
        let data = configuration.models.keys.sorted().map { #"{"id":"\#($0)","object":"model","created":0,"owned_by":"bulwark"}"# }
        let body = #"{"object":"list","data":[\#(data.joined(separator: ","))]}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension Gateway {
    /// One request through authentication, parsing, accounting, the upstream and settlement.
    func serve(_ request: Request, path: String) async throws -> Response {
        guard let token = Self.bearer(request.headers[.authorization]) else {
            return OpenAIError.response(
                .unauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code: "missing_api_key"
            )
        }
        guard let key = keys[GatewayConfiguration.sha256(token)] else {
            return OpenAIError.response(.unauthorized, "Incorrect API key provided.", code: "invalid_api_key")
        }
        let bytes: [UInt8]
        do {
            bytes = Array(buffer: try await request.body.collect(upTo: configuration.maxBodyBytes))
        } catch {
            return OpenAIError.response(.contentTooLarge, "The request body is larger than \(configuration.maxBodyBytes) bytes.", code: "request_too_large")
        }
        let parsed: ParsedRequest
        switch parse(bytes, path: path) {
        case .success(let request): parsed = request
        case .failure(let refusal): return refusal.response
        }
        let quotaCall: GroupQuotas.Call?
        switch await checkQuota(key) {
        case .success(let call): quotaCall = call
        case .failure(let refusal): return refusal.response
        }
        let plan: GatewayLedger.Plan
        let decision: GatewayLedger.Decision
        let ticket: GatewayLedger.Ticket?
        do {
            plan = try ledger.plan(for: key, model: parsed.model)
            (decision, ticket) = try await ledger.reserve(plan, estimate: parsed.estimate)
        } catch BulwarkError.invalidArgument(let field, let rule) {
            if let quotaCall { await quotas?.cancel(quotaCall) }
            return OpenAIError.response(.badRequest, "Request too large: \(rule).", param: field, code: "request_too_large")
        } catch {
            if let quotaCall { await quotas?.cancel(quotaCall) }
            logger.warning("limiter unavailable", metadata: ["error": "\(error)"])
            return OpenAIError.response(.serviceUnavailable, "The rate limiter's shared state is unavailable; try again shortly.", type: "server_error", code: "limiter_unavailable")
        }
        var headers = rateLimitFields(plan, decision)
        guard decision.isAllowed else {
            if let quotaCall { await quotas?.cancel(quotaCall) }
            let limit = decision.deniedBy.map { plan.limits[$0] }
            let type = limit?.dimension == .requests ? "requests" : "tokens"
            let wait = Double(decision.retryAfterNanoseconds) / 1e9
            let message = "Rate limit reached for \(parsed.model) on \(limit.map { "\($0.name) (\($0.limit) per minute)" } ?? "a limit"). Please try again in \(String(format: "%.3f", wait))s."
            RateLimitHeaderWriter.writeRetryAfter(nanoseconds: decision.retryAfterNanoseconds, into: &headers)
            metrics.rateLimited(key: key.id, type: type)
            logger.debug("rate limited", metadata: ["key": "\(key.id)", "model": "\(parsed.model)", "limit": "\(limit?.name ?? "")"])
            return OpenAIError.response(.tooManyRequests, message, type: type, code: "rate_limit_exceeded", headers: headers)
        }
        // Settlement also feeds the token counters and the request's log line.
        let metrics = metrics
        let logger = logger
        let model = parsed.model
        let quotas = quotas
        let settled = GatewayLedger.Ticket { actual, succeeded in
            metrics.tokens(key: key.id, input: actual[1], output: actual[2])
            logger.debug("settled", metadata: ["key": "\(key.id)", "model": "\(model)", "requests": "\(actual[0])", "input": "\(actual[1])", "output": "\(actual[2])"])
            await ticket?.settle(actual, succeeded)
            if let quotaCall {
                // Not sent at all: the quota takes nothing; sent: only a success keeps its unit.
                if actual[0] == 0 { await quotas?.cancel(quotaCall) } else { await quotas?.finish(quotaCall, succeeded: succeeded) }
            }
        }
        return try await forward(parsed, path: path, headers: headers, ticket: settled)
    }

    /// `Bearer <token>` → the token.
    static func bearer(_ field: String?) -> String? {
        guard let field, field.count > 7, field.prefix(7).lowercased() == "bearer " else { return nil }
        let token = field.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// `x-ratelimit-limit|remaining|reset-requests|tokens`: for each, the limit of that kind with
    /// the least left (the refusing one on a refusal); and the node's name.
    func rateLimitFields(_ plan: GatewayLedger.Plan, _ decision: GatewayLedger.Decision) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("x-bulwark-node")!] = node
        guard let remaining = decision.remaining, !plan.limits.isEmpty else { return fields }
        let reset = ledger.resetNanoseconds()
        for (unit, kinds) in [("requests", [GatewayDimension.requests]), ("tokens", [.inputTokens, .outputTokens])] {
            let candidates = plan.limits.indices.filter { kinds.contains(plan.limits[$0].dimension) }
            let chosen: Int?
            if let denied = decision.deniedBy, candidates.contains(denied) {
                chosen = denied
            } else {
                chosen = candidates.min { remaining[$0] < remaining[$1] }
            }
            guard let index = chosen else { continue }
            let limit = plan.limits[index].limit
            fields[HTTPField.Name("x-ratelimit-limit-\(unit)")!] = String(limit)
            fields[HTTPField.Name("x-ratelimit-remaining-\(unit)")!] = String(remaining[index])
            fields[HTTPField.Name("x-ratelimit-reset-\(unit)")!] = RateLimitHeaderWriter.goDuration(nanoseconds: remaining[index] >= limit ? 0 : reset)
        }
        return fields
    }
}
