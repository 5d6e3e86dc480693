import BulwarkCore
public import BulwarkTokenizer
import Crypto
import Foundation
import Yams

/// What `bulwark-gateway` serves and how it limits it, read from a YAML or JSON file (the same
/// fields in both; names in `snake_case`). Every field is checked when the file is read, and a
/// refusal names the field and the rule (`keys[2].limits.rpm: must be at least 1`).
///
/// ```yaml
/// listen: {host: 127.0.0.1, port: 8080}
/// redis: {host: 127.0.0.1, port: 6379}          # absent: limits kept in this process
/// tokenizer: {directory: .tiktoken}             # absent or missing files: an estimate, with a warning
/// models:
///   gpt-4o-mini: {default_max_output: 1024, upstreams: [mock]}
/// upstreams:
///   mock: {kind: mock}
/// groups:
///   free: {rpm: 60, input_tpm: 20000, output_tpm: 20000}
/// keys:
///   - {id: alice, key: sk-alice-0123456789, group: free, limits: {rpm: 30}}
///   - {id: bob, sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}
/// ```
public struct GatewayConfiguration: Codable, Sendable {
    /// Where the gateway listens.
    public var listen = Listen()
    /// This node's name, reported in `x-bulwark-node` (the host name when absent).
    public var node: String?
    /// The shared state: every limit in Redis, so that all nodes count together; `nil` keeps
    /// them in this process.
    public var redis: RedisSettings?
    /// Where the tokenizer's rank files are.
    public var tokenizer = TokenizerSettings()
    /// The models served, by the name clients send.
    public var models: [String: Model]
    /// The upstreams the models are served by, by name.
    public var upstreams: [String: Upstream]
    /// The limits of each group of keys, by group name.
    public var groups: [String: Limits] = [:]
    /// The API keys.
    public var keys: [Key]
    /// The users keys belong to (`keys[].user`), by id: each user's quota group.
    public var users: [String: User] = [:]
    /// Quotas per period on all and on successful requests, per group, edited on the admin page;
    /// `nil`: none.
    public var quotas: Quotas?
    /// The largest request body accepted, in bytes (4 MiB by default); a larger one gets 413.
    public var maxBodyBytes = 4 << 20
    /// The length of every limit's window, in seconds (60: limits are per minute), cut into 12
    /// segments; a multiple of 3, so that a segment is a whole number of nanoseconds.
    public var windowSeconds = 60
    /// The least level logged: `trace`, `debug` (a line per request: key id, model, status,
    /// tokens; never a key), `info` (start, cooldowns learnt, upstream failures, Redis outages; the
    /// default), `notice`, `warning`, `error` or `critical`.
    public var logLevel = "info"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, node, redis, tokenizer, models, upstreams, groups, keys, users, quotas, maxBodyBytes = "max_body_bytes"
        case windowSeconds = "window_seconds", logLevel = "log_level"
    }

    /// Reads a configuration; absent fields take their defaults, an unknown one is refused.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
        let defaults = GatewayConfiguration(models: [:], upstreams: [:], keys: [])
        listen = try c.decode(.listen, default: defaults.listen)
        node = try c.decodeIfPresent(String.self, forKey: .node)
        redis = try c.decodeIfPresent(RedisSettings.self, forKey: .redis)
        tokenizer = try c.decode(.tokenizer, default: defaults.tokenizer)
        models = try c.decode([String: Model].self, forKey: .models)
        upstreams = try c.decode([String: Upstream].self, forKey: .upstreams)
        groups = try c.decode(.groups, default: defaults.groups)
        keys = try c.decode([Key].self, forKey: .keys)
        users = try c.decode(.users, default: defaults.users)
        quotas = try c.decodeIfPresent(Quotas.self, forKey: .quotas)
        maxBodyBytes = try c.decode(.maxBodyBytes, default: defaults.maxBodyBytes)
        windowSeconds = try c.decode(.windowSeconds, default: defaults.windowSeconds)
        logLevel = try c.decode(.logLevel, default: defaults.logLevel)
    }

    /// A configuration of these models, upstreams and keys, every other field at its default.
    public init(models: [String: Model], upstreams: [String: Upstream], groups: [String: Limits] = [:], keys: [Key]) {
        self.models = models
        self.upstreams = upstreams
        self.groups = groups
        self.keys = keys
    }

    /// Where to listen.
    public struct Listen: Codable, Sendable {
        /// The address (loopback by default).
        public var host = "127.0.0.1"
        /// The port (8080 by default; 0 for any free one).
        public var port = 8080

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port }

        /// The defaults.
        public init() {}

        /// Reads the settings; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            host = try c.decode(.host, default: "127.0.0.1")
            port = try c.decode(.port, default: 8080)
        }
    }

    /// The Redis server holding the shared state.
    public struct RedisSettings: Codable, Sendable {
        /// Its host.
        public var host = "127.0.0.1"
        /// Its port.
        public var port = 6379
        /// The prefix of every key the gateway writes (`bulwark:gateway` by default).
        public var prefix = "bulwark:gateway"
        /// How long one Redis call may take, in milliseconds, before it counts as an outage.
        public var timeoutMs = 250
        /// What a request meets while Redis cannot answer: `closed` (503, nothing admitted: the
        /// limits hold exactly; the default) or `open` (admitted uncounted).
        public var failure = "closed"
        /// How often each node reads the upstreams' shared cooldowns, in milliseconds (250).
        public var cooldownPollMs = 250
        /// Whether `host:port` is a seed of a Redis Cluster. Every key the gateway writes then
        /// carries the hash tag `{<prefix>}`, so that one decision's limits (a key's, its model's,
        /// its group's) sit in one slot: the cluster gives failover to a replica, not sharding.
        public var cluster = false

        /// The Redis key `<prefix>:<before>{<tag>}<after>` on one server, `{<prefix>}:<before><tag><after>`
        /// on a cluster.
        func key(_ before: String = "", tag: String, _ after: String = "") -> String {
            cluster ? "{\(prefix)}:\(before)\(tag)\(after)" : "\(prefix):\(before){\(tag)}\(after)"
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, prefix, timeoutMs = "timeout_ms", failure, cooldownPollMs = "cooldown_poll_ms", cluster
        }

        /// The defaults.
        public init() {}

        /// Reads the settings; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            let defaults = RedisSettings()
            host = try c.decode(.host, default: defaults.host)
            port = try c.decode(.port, default: defaults.port)
            prefix = try c.decode(.prefix, default: defaults.prefix)
            timeoutMs = try c.decode(.timeoutMs, default: defaults.timeoutMs)
            failure = try c.decode(.failure, default: defaults.failure)
            cooldownPollMs = try c.decode(.cooldownPollMs, default: defaults.cooldownPollMs)
            cluster = try c.decode(.cluster, default: defaults.cluster)
        }
    }

    /// The tokenizer's rank files.
    public struct TokenizerSettings: Codable, Sendable {
        /// The directory holding `cl100k_base.tiktoken` and `o200k_base.tiktoken` (`.tiktoken`,
        /// where `scripts/fetch-tiktoken` puts them, by default).
        public var directory = ".tiktoken"

        enum CodingKeys: String, CodingKey, CaseIterable { case directory }

        /// The defaults.
        public init() {}

        /// Reads the settings; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            directory = try c.decode(.directory, default: ".tiktoken")
        }
    }

    /// A model clients may name.
    public struct Model: Codable, Sendable {
        /// The upstreams that serve it, tried in order (the next when one is down or cooling off).
        public var upstreams: [String]
        /// Its tokenizer encoding; by default the one tiktoken's model table gives, else `o200k_base`.
        public var encoding: Tokenizer.Encoding?
        /// The output tokens reserved when a request names no maximum (1,024 by default).
        public var defaultMaxOutput = 1_024
        /// The largest `max_tokens` a request may name (16,384 by default).
        public var maxOutput = 16_384
        /// The name sent upstream, when it differs.
        public var upstreamModel: String?
        /// Whether this is an embedding model (served on `/v1/embeddings`).
        public var embedding = false

        enum CodingKeys: String, CodingKey, CaseIterable {
            case upstreams, encoding, defaultMaxOutput = "default_max_output", maxOutput = "max_output"
            case upstreamModel = "upstream_model", embedding
        }

        /// A model served by `upstreams`, every other field at its default.
        public init(upstreams: [String]) {
            self.upstreams = upstreams
        }

        /// Reads a model; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            upstreams = try c.decode([String].self, forKey: .upstreams)
            encoding = try c.decodeIfPresent(Tokenizer.Encoding.self, forKey: .encoding)
            defaultMaxOutput = try c.decode(.defaultMaxOutput, default: 1_024)
            maxOutput = try c.decode(.maxOutput, default: 16_384)
            upstreamModel = try c.decodeIfPresent(String.self, forKey: .upstreamModel)
            embedding = try c.decode(.embedding, default: false)
        }
    }

    /// An upstream: the built-in mock, or an OpenAI-compatible server.
    public struct Upstream: Codable, Sendable {
        /// `mock` or `openai`.
        public var kind: String
        /// The base URL of an `openai` upstream (`https://api.openai.com/v1`).
        public var url: String?
        /// The environment variable holding an `openai` upstream's API key.
        public var apiKeyEnv: String?
        /// How long a call may take, in seconds (600 by default).
        public var timeoutSeconds = 600
        /// How often its health is probed (`GET <url>/models`; the mock's outages), in seconds;
        /// 0 for no probe (10 by default). Two failed probes in a row take it out of rotation
        /// until one succeeds.
        public var healthCheckSeconds = 10
        /// The mock's behaviour.
        public var mock = MockSettings()

        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, url, apiKeyEnv = "api_key_env", timeoutSeconds = "timeout_seconds", healthCheckSeconds = "health_check_seconds", mock
        }

        /// An upstream of `kind`, every other field at its default.
        public init(kind: String, url: String? = nil) {
            self.kind = kind
            self.url = url
        }

        /// Reads an upstream; absent fields take their defaults.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            let defaults = Upstream(kind: "")
            kind = try c.decode(String.self, forKey: .kind)
            url = try c.decodeIfPresent(String.self, forKey: .url)
            apiKeyEnv = try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)
            timeoutSeconds = try c.decode(.timeoutSeconds, default: defaults.timeoutSeconds)
            healthCheckSeconds = try c.decode(.healthCheckSeconds, default: defaults.healthCheckSeconds)
            mock = try c.decode(.mock, default: defaults.mock)
        }
    }

    /// Requests, input tokens and output tokens per minute; any may be absent (no limit).
    public struct Limits: Codable, Sendable, Hashable {
        /// Requests per minute.
        public var rpm: Int?
        /// Input (prompt) tokens per minute.
        public var inputTpm: Int?
        /// Output (completion) tokens per minute.
        public var outputTpm: Int?

        enum CodingKeys: String, CodingKey, CaseIterable { case rpm, inputTpm = "input_tpm", outputTpm = "output_tpm" }

        /// Reads limits; an unknown field is refused.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
            inputTpm = try c.decodeIfPresent(Int.self, forKey: .inputTpm)
            outputTpm = try c.decodeIfPresent(Int.self, forKey: .outputTpm)
        }

        /// Limits.
        public init(rpm: Int? = nil, inputTpm: Int? = nil, outputTpm: Int? = nil) {
            self.rpm = rpm
            self.inputTpm = inputTpm
            self.outputTpm = outputTpm
        }

        /// The limits in the gateway's dimension order: requests, input tokens, output tokens.
        var figures: [Int?] { [rpm, inputTpm, outputTpm] }
    }

    /// An API key.
    public struct Key: Codable, Sendable {
        /// The key's name in logs, headers of the load report and Redis keys (not a secret).
        public var id: String
        /// The key itself, when the file may hold it.
        public var key: String?
        /// The SHA-256 of the key (64 hex digits), so that the file holds no secret.
        public var sha256: String?
        /// The group whose limits it shares with the group's other keys, and its quota group.
        public var group: String?
        /// The user it belongs to (`users`), whose group is its quota group when it has none; its
        /// quota identity when neither names a group.
        public var user: String?
        /// Its own limits.
        public var limits: Limits?
        /// Its limits for one model, by model name.
        public var models: [String: Limits]?

        enum CodingKeys: String, CodingKey, CaseIterable { case id, key, sha256, group, user, limits, models }

        /// A key.
        public init(
            id: String, key: String? = nil, sha256: String? = nil, group: String? = nil, user: String? = nil, limits: Limits? = nil,
            models: [String: Limits]? = nil
        ) {
            self.id = id
            self.user = user
            self.key = key
            self.sha256 = sha256
            self.group = group
            self.limits = limits
            self.models = models
        }

        /// Reads a key; an unknown field is refused.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            key = try c.decodeIfPresent(String.self, forKey: .key)
            sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
            group = try c.decodeIfPresent(String.self, forKey: .group)
            user = try c.decodeIfPresent(String.self, forKey: .user)
            limits = try c.decodeIfPresent(Limits.self, forKey: .limits)
            models = try c.decodeIfPresent([String: Limits].self, forKey: .models)
        }
    }

    /// Reads a configuration file: YAML, or JSON (which is YAML too), then checks it.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field at fault, or
    ///   the file's own error when it cannot be read or parsed.
    public static func load(path: String) throws -> GatewayConfiguration {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try parse(text)
    }

    /// Parses and checks a configuration's text (YAML or JSON).
    public static func parse(_ text: String) throws -> GatewayConfiguration {
        let configuration: GatewayConfiguration
        do {
            configuration = try YAMLDecoder().decode(GatewayConfiguration.self, from: text, userInfo: [:])
        } catch let DecodingError.keyNotFound(key, context) {
            throw BulwarkError.invalidConfiguration(field: Self.path(context.codingPath + [key]), rule: "is required")
        } catch let DecodingError.typeMismatch(type, context) {
            throw BulwarkError.invalidConfiguration(field: Self.path(context.codingPath), rule: "must be a \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw BulwarkError.invalidConfiguration(field: Self.path(context.codingPath), rule: context.debugDescription)
        }
        try configuration.validate()
        return configuration
    }

    /// A coding path as a field name: `keys[2].limits.rpm`.
    private static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "configuration" : text
    }
}

extension GatewayConfiguration.Key {
    /// The SHA-256 of the key as 64 lowercase hex digits: from `key`, or `sha256` as written;
    /// `nil` when neither or both are given, or `sha256` is not 64 hex digits.
    var digest: String? {
        switch (key, sha256) {
        case (let key?, nil) where !key.isEmpty: GatewayConfiguration.sha256(key)
        case (nil, let hash?) where hash.count == 64 && hash.allSatisfy(\.isHexDigit): hash.lowercased()
        default: nil
        }
    }
}

extension GatewayConfiguration {
    /// The SHA-256 of `text`'s UTF-8 bytes as 64 lowercase hex digits.
    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String($0, radix: 16, uppercase: false).leftPadded(to: 2) }.joined()
    }
}

/// Any field name: to find those a type does not know, and to name a field known only at run
/// time (a quota group) in a decoding error's path.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// The keyed container, after refusing any field `Keys` does not name.
    func checkedContainer<Keys: CodingKey & CaseIterable>(keyedBy type: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let known = Set(Keys.allCases.map(\.stringValue))
        for key in try container(keyedBy: AnyKey.self).allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key], debugDescription: "is not a field (known: \(known.sorted().joined(separator: ", ")))"
            ))
        }
        return try container(keyedBy: type)
    }
}

extension KeyedDecodingContainer {
    /// The field's value, or `value` when it is absent.
    func decode<Value: Decodable>(_ key: Key, default value: Value) throws -> Value {
        try decodeIfPresent(Value.self, forKey: key) ?? value
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension GatewayConfiguration {
    /// The configuration `bulwark-gateway` serves without a file: in memory, the mock upstream,
    /// models `gpt-4o-mini` and `text-embedding-3-small`, and one key, `sk-bulwark-demo`, with 60
    /// requests, 20,000 input tokens and 20,000 output tokens per minute.
    public static var demo: GatewayConfiguration {
        GatewayConfiguration(
            models: [
                "gpt-4o-mini": Model(upstreams: ["mock"]),
                "text-embedding-3-small": { var model = Model(upstreams: ["mock"]); model.embedding = true; return model }(),
            ],
            upstreams: ["mock": Upstream(kind: "mock")],
            keys: [Key(id: "demo", key: "sk-bulwark-demo", limits: Limits(rpm: 60, inputTpm: 20_000, outputTpm: 20_000))]
        )
    }
}
