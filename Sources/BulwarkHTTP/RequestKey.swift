import BulwarkCore
import Crypto
public import HTTPTypes

/// What a key extractor sees of a request: its head, the peer's address and the matched route.
public struct HTTPRequestInfo: Sendable {
    /// The request's method, path and header fields.
    public var head: HTTPRequest
    /// The address the connection came from (`nil` for a Unix socket or in a test).
    public var peer: IPAddress?
    /// The route pattern that matched (`/v1/models/{id}`), when the framework knows it.
    public var route: String?

    /// Creates the view of a request.
    public init(head: HTTPRequest, peer: IPAddress?, route: String? = nil) {
        self.head = head
        self.peer = peer
        self.route = route
    }
}

/// How a request is turned into the key its limit is kept under (a partition of a limiter).
///
/// Keys are bounded and never hold a secret: a token or API key is hashed (SHA-256, the first 16
/// bytes in hex), so it is never kept, logged or sent to Redis in the clear. A request without
/// the part a key needs (no token, an empty or non-ASCII one, a header over 4,096 bytes) has no
/// key: the middleware then answers 401 or lets it through, as configured.
///
///     let perUserAndRoute = RequestKey.combined([.bearerToken, .route])
public struct RequestKey: Sendable {
    /// The extractor.
    let extract: @Sendable (HTTPRequestInfo) -> String?

    /// A key from a closure of your own (return `nil` when the request has none).
    public init(_ extract: @escaping @Sendable (HTTPRequestInfo) -> String?) {
        self.extract = extract
    }

    /// The key of `request`, or `nil` when it has none.
    public func key(for request: HTTPRequestInfo) -> String? {
        extract(request)
    }

    /// The client's IP address (`ip:<address>`), read through trusted proxies only (see
    /// ``ClientAddress``).
    public static func clientIP(trusting proxies: TrustedProxies = .none) -> RequestKey {
        RequestKey { request in
            ClientAddress.resolve(peer: request.peer, fields: request.head.headerFields, trusted: proxies).map { "ip:\($0)" }
        }
    }

    /// The bearer token of `Authorization: Bearer <token>`, hashed (`token:<32 hex digits>`).
    public static let bearerToken = RequestKey { request in
        guard let value = request.head.headerFields[.authorization], value.utf8.count <= 4_096 else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return secret(parts[1]).map { "token:\($0)" }
    }

    /// The API key in header `name` (for example `x-api-key`), hashed (`key:<32 hex digits>`).
    public static func apiKey(header name: HTTPField.Name) -> RequestKey {
        RequestKey { request in
            guard let value = request.head.headerFields[name], value.utf8.count <= 4_096 else { return nil }
            return secret(Substring(value)).map { "key:\($0)" }
        }
    }

    /// The value of header `name` as it is (a tenant or organisation id), as `<label>:<value>`:
    /// at most 128 visible ASCII characters, else no key.
    public static func header(_ name: HTTPField.Name, label: String) -> RequestKey {
        RequestKey { request in
            guard let value = request.head.headerFields[name], !value.isEmpty, value.utf8.count <= 128,
                  value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
            else { return nil }
            return "\(label):\(value)"
        }
    }

    /// The method and the matched route pattern (`route:POST /v1/chat/completions`); the path
    /// when no route is known. Bounded when routes are: the path of an unmatched request is not
    /// (use it with a partitioned limiter's bounded memory).
    public static let route = RequestKey { request in
        "route:\(request.head.method.rawValue) \(request.route ?? request.head.path ?? "/")"
    }

    /// Every key of `keys`, joined by `|`; no key when one of them has none.
    public static func combined(_ keys: [RequestKey]) -> RequestKey {
        RequestKey { request in
            var parts: [String] = []
            for key in keys {
                guard let part = key.extract(request) else { return nil }
                parts.append(part)
            }
            return parts.joined(separator: "|")
        }
    }

    /// The hash of a credential: 16 bytes of SHA-256 in hex; `nil` for an empty one or one with
    /// characters other than visible ASCII.
    static func secret(_ value: Substring) -> String? {
        guard !value.isEmpty, value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let digest = SHA256.hash(data: Array(value.utf8))
        return digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
