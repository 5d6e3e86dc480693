import BulwarkHTTP
import HTTPTypes
import RawStructuredFieldValues
import Testing

@Suite("HTTP: headers, client keys, status map")
struct HTTPTests {
    static let policy = try! RateLimitPolicy(name: "rpm", quota: 60, window: .seconds(60))

    static func decision(allowed: Bool, remaining: Int64, retryAfter: Int64, reset: Int64) -> RateLimitDecision {
        RateLimitDecision(isAllowed: allowed, limit: 60, remaining: remaining, retryAfterNanoseconds: retryAfter, resetAfterNanoseconds: reset)
    }

    /// The one item of a structured list field, with its parameters, parsed back.
    static func parse(_ value: String?) throws -> (name: String, parameters: [String: Int64]) {
        var parser = StructuredFieldValueParser(Array((value ?? "").utf8))
        let list = try parser.parseListFieldValue()
        guard list.count == 1, case .item(let item) = list[0], case .string(let name) = item.rfc9651BareItem else {
            throw ParseFailure()
        }
        var parameters: [String: Int64] = [:]
        for (key, value) in item.rfc9651Parameters {
            if case .integer(let number) = value { parameters[key] = number }
        }
        return (name, parameters)
    }
    struct ParseFailure: Error {}

    @Test("Retry-After is whole seconds rounded up and never 0 while refused; retry-after-ms rounds up too")
    func retryAfter() {
        for (nanoseconds, seconds, milliseconds) in [
            (Int64(0), "1", "1"), (1, "1", "1"), (999_999_999, "1", "1000"), (1_000_000_000, "1", "1000"),
            (1_000_000_001, "2", "1001"), (1_500_000, "1", "2"), (59_000_000_000, "59", "59000"),
        ] {
            var fields = HTTPFields()
            RateLimitHeaderWriter.writeRetryAfter(nanoseconds: nanoseconds, into: &fields)
            #expect(fields[.retryAfter] == seconds && fields[.retryAfterMilliseconds] == milliseconds, "\(nanoseconds) ns")
        }
    }

    @Test("OpenAI's reset fields use Go's duration format, exact to the nanosecond")
    func goDurations() {
        let cases: [(Int64, String)] = [
            (0, "0s"), (-5, "0s"), (999, "999ns"), (1_500, "1.5µs"), (20_000_000, "20ms"), (1_500_000_000, "1.5s"),
            (360_000_000_000, "6m0s"), (3_600_000_000_000, "1h0m0s"), (1_000_001_000, "1.000001s"), (90_500_000_000, "1m30.5s"),
        ]
        for (nanoseconds, text) in cases {
            #expect(RateLimitHeaderWriter.goDuration(nanoseconds: nanoseconds) == text)
        }
    }

    @Test("every family is written: the IETF fields parse back as structured fields with the exact figures")
    func families() throws {
        var fields = HTTPFields()
        let refused = Self.decision(allowed: false, remaining: 0, retryAfter: 1_200_000_000, reset: 59_000_000_001)
        RateLimitHeaderWriter(policy: Self.policy).write(refused, into: &fields)
        let policy = try Self.parse(fields[.rateLimitPolicy])
        #expect(policy.name == "rpm" && policy.parameters == ["q": 60, "w": 60])
        let state = try Self.parse(fields[.rateLimit])
        #expect(state.name == "rpm" && state.parameters == ["r": 0, "t": 60])
        #expect(fields[HTTPField.Name("x-ratelimit-limit-requests")!] == "60")
        #expect(fields[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")
        #expect(fields[HTTPField.Name("x-ratelimit-reset-requests")!] == "59.000000001s")
        #expect(fields[.retryAfter] == "2" && fields[.retryAfterMilliseconds] == "1200")

        var allowedFields = HTTPFields()
        let tokens = try RateLimitPolicy(name: "tpm", quota: 90_000, window: .seconds(60), unit: "tokens")
        RateLimitHeaderWriter(policy: tokens, families: [.ietf, .retryAfter]).write(
            Self.decision(allowed: true, remaining: 88_800, retryAfter: 0, reset: 800_000_000), into: &allowedFields
        )
        #expect(allowedFields[.retryAfter] == nil && allowedFields[HTTPField.Name("x-ratelimit-limit-tokens")!] == nil)
        #expect(allowedFields[.rateLimitPolicy] == #""tpm";q=90000;w=60;qu="tokens""#)
        #expect(try Self.parse(allowedFields[.rateLimit]).parameters == ["r": 88_800, "t": 1])

        // A second limit on the same response adds its member to the IETF lists.
        RateLimitHeaderWriter(policy: Self.policy).write(Self.decision(allowed: true, remaining: 7, retryAfter: 0, reset: 2_000_000_000), into: &allowedFields)
        #expect(allowedFields[.rateLimit] == #""tpm";r=88800;t=1, "rpm";r=7;t=2"#)
        var parser = StructuredFieldValueParser(Array(allowedFields[.rateLimitPolicy]!.utf8))
        #expect(try parser.parseListFieldValue().count == 2)
    }

    @Test("bad policies are errors naming the field")
    func badPolicies() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "quota", rule: "must be at least 1 (got 0)")) {
            try RateLimitPolicy(name: "rpm", quota: 0, window: .seconds(1))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "name", rule: "must be printable ASCII, not empty (got \"\")")) {
            try RateLimitPolicy(name: "", quota: 1, window: nil)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "unit", rule: "must be lowercase letters (got \"Tokens\")")) {
            try RateLimitPolicy(name: "x", quota: 1, window: nil, unit: "Tokens")
        }
    }

    static func request(_ fields: HTTPFields) -> HTTPRequest {
        HTTPRequest(method: .get, scheme: "http", authority: "api", path: "/v1/chat", headerFields: fields)
    }

    @Test("the client address comes through trusted proxies only, read right to left; a client cannot spoof its key")
    func trustedProxies() throws {
        let proxies = try TrustedProxies(["10.0.0.0/8", "fd00::/8"])
        let peerProxy = IPAddress("10.1.2.3")
        func client(_ peer: IPAddress?, _ fields: HTTPFields) -> String? {
            ClientAddress.resolve(peer: peer, fields: fields, trusted: proxies)?.description
        }
        // An untrusted peer is the client, whatever it claims.
        #expect(client(IPAddress("203.0.113.9"), [.xForwardedFor: "1.1.1.1"]) == "203.0.113.9")
        // Through one proxy: the hop it appended.
        #expect(client(peerProxy, [.xForwardedFor: "198.51.100.7"]) == "198.51.100.7")
        // The client put a forged address first; the proxy appended the real one: the real one wins.
        #expect(client(peerProxy, [.xForwardedFor: "6.6.6.6, 198.51.100.7"]) == "198.51.100.7")
        // Two proxies, both trusted, skipped from the right.
        #expect(client(peerProxy, [.xForwardedFor: "198.51.100.7, 10.9.9.9"]) == "198.51.100.7")
        // Every hop trusted: the leftmost.
        #expect(client(peerProxy, [.xForwardedFor: "10.5.5.5, 10.9.9.9"]) == "10.5.5.5")
        // A hop that is not an address ends the walk at the last trusted one.
        #expect(client(peerProxy, [.xForwardedFor: "198.51.100.7, unknown"]) == "10.1.2.3")
        // Forwarded (RFC 7239) is preferred, with quoted IPv6 and ports.
        var forwarded = HTTPFields()
        forwarded[.forwarded] = #"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#
        forwarded[.xForwardedFor] = "7.7.7.7"
        #expect(client(peerProxy, forwarded) == "2001:db8:cafe::17")
        // A malformed Forwarded is ignored for X-Forwarded-For.
        var malformed = HTTPFields()
        malformed[.forwarded] = #"for="192.0.2.60"#
        malformed[.xForwardedFor] = "198.51.100.7"
        #expect(client(peerProxy, malformed) == "198.51.100.7")
        // IPv6 peers and blocks; no peer, no address.
        #expect(client(IPAddress("fd00::1"), [.xForwardedFor: "2001:db8::5"]) == "2001:db8::5")
        #expect(client(nil, [.xForwardedFor: "198.51.100.7"]) == nil)
        #expect(throws: BulwarkError.invalidConfiguration(field: "trustedProxies", rule: "\"10.0.0.0/33\" has an invalid prefix length")) {
            try TrustedProxies(["10.0.0.0/33"])
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "trustedProxies", rule: "\"proxy.local\" is not an IP address or CIDR block")) {
            try TrustedProxies(["proxy.local"])
        }
    }

    @Test("credentials are keyed by a hash, never raw; empty, non-ASCII or oversized ones give no key")
    func keys() {
        func key(_ requestKey: RequestKey, _ fields: HTTPFields, peer: String? = "203.0.113.9") -> String? {
            requestKey.key(for: HTTPRequestInfo(head: Self.request(fields), peer: peer.flatMap { IPAddress($0) }, route: "/v1/chat"))
        }
        let token = key(.bearerToken, [.authorization: "Bearer sk-secret-123"])
        #expect(token?.hasPrefix("token:") == true && token?.count == 6 + 32)
        #expect(token?.contains("sk-secret") == false)
        #expect(token == key(.bearerToken, [.authorization: "bearer sk-secret-123"]))
        #expect(token != key(.bearerToken, [.authorization: "Bearer sk-secret-124"]))
        #expect(key(.bearerToken, [.authorization: "Bearer "]) == nil)
        #expect(key(.bearerToken, [.authorization: "Bearer sk-sécret"]) == nil)
        #expect(key(.bearerToken, [.authorization: "Bearer " + String(repeating: "a", count: 10_000)]) == nil)
        #expect(key(.bearerToken, [.authorization: "Basic abc"]) == nil)
        #expect(key(.apiKey(header: HTTPField.Name("x-api-key")!), [HTTPField.Name("x-api-key")!: "k1"])?.hasPrefix("key:") == true)
        #expect(key(.header(HTTPField.Name("x-tenant")!, label: "tenant"), [HTTPField.Name("x-tenant")!: "acme"]) == "tenant:acme")
        #expect(key(.clientIP(), [:]) == "ip:203.0.113.9")
        #expect(key(.route, [:]) == "route:GET /v1/chat")
        #expect(key(.combined([.clientIP(), .route]), [:]) == "ip:203.0.113.9|route:GET /v1/chat")
        #expect(key(.combined([.clientIP(), .bearerToken]), [:]) == nil)
    }

    @Test("every refusal maps to its status, Retry-After and code")
    func statusMap() {
        let cases: [(BulwarkError, Int, String?, String)] = [
            (.rateLimited(retryAfter: .milliseconds(1_500)), 429, "2", "rate_limited"),
            (.queueFull(limit: 8), 503, "1", "queue_full"),
            (.waitTimedOut, 503, "1", "wait_timed_out"),
            (.overloaded(reason: "cpu"), 503, "1", "overloaded"),
            (.circuitOpen(retryAfter: .seconds(30)), 503, "30", "circuit_open"),
            (.circuitOpen(retryAfter: nil), 503, nil, "circuit_open"),
            (.unavailable(dependency: "openai", retryAfter: .seconds(10)), 503, "10", "dependency_unavailable"),
            (.dependencyFailed(dependency: "redis", reason: "down"), 503, nil, "dependency_failed"),
            (.shutDown, 503, nil, "shutting_down"),
            (.timedOut(after: .seconds(5)), 504, nil, "timed_out"),
            (.invalidArgument(field: "cost", rule: "too big"), 400, nil, "invalid_request"),
            (.invalidConfiguration(field: "capacity", rule: "secret detail"), 500, nil, "internal_error"),
        ]
        for (error, status, retryAfter, code) in cases {
            let answer = HTTPErrorMapping.response(for: error)
            #expect(answer.status.code == status && answer.headerFields[.retryAfter] == retryAfter, "\(error)")
            #expect(answer.body.contains(#""code":"\#(code)""#) && answer.headerFields[.contentType] == "application/json")
        }
        #expect(!HTTPErrorMapping.response(for: .invalidConfiguration(field: "capacity", rule: "secret detail")).body.contains("secret"))
        let openAI = HTTPErrorMapping.response(for: .rateLimited(retryAfter: .seconds(1)), style: .openAI(unit: "requests"))
        #expect(openAI.body.hasPrefix(#"{"error":{"message":"rate limited: retry after 1.0 seconds","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#))
    }
}
