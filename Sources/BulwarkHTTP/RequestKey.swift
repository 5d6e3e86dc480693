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
    /// Whether the extractor reads the peer's address: a middleware resolves it (a dynamic cast
    /// and a parse) only then.
    public let readsPeer: Bool

    /// A key from a closure of your own (return `nil` when the request has none).
    ///
    /// - Parameters:
    ///   - readsPeer: Whether `extract` reads `HTTPRequestInfo.peer`; when `false`, a middleware
    ///     leaves it `nil`.
    ///   - extract: The key of a request, or `nil` when it has none.
    public init(readsPeer: Bool = true, _ extract: @escaping @Sendable (HTTPRequestInfo) -> String?) {
        self.extract = extract
        self.readsPeer = readsPeer
    }

    /// The key of `request`, or `nil` when it has none.
    public func key(for request: HTTPRequestInfo) -> String? {
        extract(request)
    }

    /// The client's IP address (`ip:<address>`), read through trusted proxies only (see
    /// ``ClientAddress``).
    public static func clientIP(trusting proxies: TrustedProxies = .none) -> RequestKey {
        RequestKey(readsPeer: true) { request in
            ClientAddress.resolve(peer: request.peer, fields: request.head.headerFields, trusted: proxies).map { "ip:\($0)" }
        }
    }

    /// The bearer token of `Authorization: Bearer <token>` (the scheme in any case, one space),
    /// hashed (`token:<32 hex digits>`).
    public static let bearerToken = RequestKey(readsPeer: false) { request in
        guard let value = request.head.headerFields[.authorization] else { return nil }
        let utf8 = value.utf8
        guard utf8.count > 7, utf8.count <= 4_096 else { return nil }
        let space = utf8.index(utf8.startIndex, offsetBy: 6)
        guard utf8[space] == UInt8(ascii: " "),
              zip(utf8[..<space], "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        return hashed(value[utf8.index(after: space)...], label: "token:")
    }

    /// The API key in header `name` (for example `x-api-key`), hashed (`key:<32 hex digits>`).
    public static func apiKey(header name: HTTPField.Name) -> RequestKey {
        RequestKey(readsPeer: false) { request in
            guard let value = request.head.headerFields[name], value.utf8.count <= 4_096 else { return nil }
            return hashed(Substring(value), label: "key:")
        }
    }

    /// The value of header `name` as it is (a tenant or organisation id), as `<label>:<value>`:
    /// at most 128 visible ASCII characters, else no key.
    public static func header(_ name: HTTPField.Name, label: String) -> RequestKey {
        RequestKey(readsPeer: false) { request in
            guard let value = request.head.headerFields[name], !value.isEmpty, value.utf8.count <= 128,
                  value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
            else { return nil }
            return "\(label):\(value)"
        }
    }

    /// The method and the matched route pattern (`route:POST /v1/chat/completions`); the path
    /// when no route is known. Bounded when routes are: the path of an unmatched request is not
    /// (use it with a partitioned limiter's bounded memory).
    public static let route = RequestKey(readsPeer: false) { request in
        "route:\(request.head.method.rawValue) \(request.route ?? request.head.path ?? "/")"
    }

    /// Every key of `keys`, joined by `|`; no key when one of them has none.
    public static func combined(_ keys: [RequestKey]) -> RequestKey {
        RequestKey(readsPeer: keys.contains { $0.readsPeer }) { request in
            var parts: [String] = []
            for key in keys {
                guard let part = key.extract(request) else { return nil }
                parts.append(part)
            }
            return parts.joined(separator: "|")
        }
    }

    /// `label` and the hash of a credential, 16 bytes of SHA-256 in hex; `nil` for an empty
    /// credential or one with characters other than visible ASCII.
    static func hashed(_ value: Substring, label: StaticString) -> String? {
        var value = value
        return value.withUTF8 { bytes -> String? in
            guard !bytes.isEmpty, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
            let digest = SHA256.hash(data: UnsafeRawBufferPointer(bytes))
            let prefix = label.utf8CodeUnitCount
            return String(unsafeUninitializedCapacity: prefix + 32) { out in
                _ = UnsafeMutableBufferPointer(rebasing: out[..<prefix]).initialize(from: UnsafeBufferPointer(start: label.utf8Start, count: prefix))
                var index = prefix
                digest.withUnsafeBytes { hash in
                    for byte in hash.prefix(16) {
                        out[index] = hexDigits[Int(byte >> 4)]
                        out[index + 1] = hexDigits[Int(byte & 0x0F)]
                        index += 2
                    }
                }
                return index
            }
        }
    }
}

/// The lowercase hexadecimal digits, as UTF-8.
private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
