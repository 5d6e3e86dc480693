public import BulwarkCore
import BulwarkHummingbird
import BulwarkPartitioned
import BulwarkRedisClient
import BulwarkSlidingWindow
import Crypto
import Foundation

/// A credential of the admin page and API: a name (the identity the audit log records) and the
/// SHA-256 of its token.
public struct AdminToken: Sendable, Hashable {
    /// Who uses it: what the audit log says changed the settings.
    public let name: String
    /// The SHA-256 of the token, 32 bytes.
    let digest: [UInt8]

    /// A credential from its token.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for an empty name or a token
    ///   shorter than 16 characters.
    public init(name: String, token: String) throws(BulwarkError) {
        guard token.count >= 16 else { throw .invalidConfiguration(field: "admin.tokens.\(name)", rule: "a token must be at least 16 characters") }
        try self.init(name: name, digest: Array(SHA256.hash(data: Array(token.utf8))))
    }

    /// A credential from the SHA-256 of its token, as 64 hex digits.
    public init(name: String, sha256 hex: String) throws(BulwarkError) {
        let digits = Array(hex.lowercased().utf8)
        guard digits.count == 64, digits.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw .invalidConfiguration(field: "admin.tokens.\(name).sha256", rule: "must be 64 hex digits")
        }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) { bytes.append(UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!) }
        try self.init(name: name, digest: bytes)
    }

    private init(name: String, digest: [UInt8]) throws(BulwarkError) {
        guard !name.isEmpty else { throw .invalidConfiguration(field: "admin.tokens", rule: "a token must have a name") }
        self.name = name
        self.digest = digest
    }
}

/// The admin page's sessions, CSRF tokens and login limit.
///
/// A session is 32 random bytes (64 hex digits, the cookie's value), lasting ``lifetime`` from the
/// login; it carries its own CSRF token, which every change must present. Sessions are kept where
/// the quotas are: in this process, or in Redis (`{<prefix>}:quota:session:<id>`, expiring with
/// the session), where every node reads them, so one sign-in serves every node's page (a
/// browser sends a host's cookie to all its ports). The login limit is each node's own. Tokens are compared by
/// their SHA-256 digests, in time that does not depend on where they differ; every configured
/// token is compared, so the time does not say which matched either.
final class AdminSecurity: Sendable {
    struct Session: Sendable {
        let admin: String
        let csrf: String
        let expires: ContinuousClock.Instant
    }

    /// How long a session lasts from its login.
    let lifetime: Duration
    /// Failed logins allowed per client address per minute; the next is refused with 429.
    let failedLoginsPerMinute: Int
    private let tokens: [AdminToken]
    private let sessions = LockedValue<[String: Session]>([:])
    /// Where sessions are shared, when they are: the client and the keys' prefix.
    private let redis: (client: RedisClient, prefix: String)?
    private let failures: PartitionedRateLimiter<String, SlidingWindowLog, ContinuousClock>

    init(tokens: [AdminToken], lifetime: Duration, failedLoginsPerMinute: Int, redis: (RedisClient, String)?) throws(BulwarkError) {
        self.tokens = tokens
        self.redis = redis
        self.lifetime = lifetime
        self.failedLoginsPerMinute = failedLoginsPerMinute
        failures = try PartitionedRateLimiter(configuration: .init(limit: failedLoginsPerMinute, window: .seconds(60)), maximumPartitions: 10_000)
    }

    /// How a login or a bearer token fared.
    enum Verdict: Equatable {
        case admitted(String)
        case wrong
        /// Too many failures from this address: the wait, in nanoseconds.
        case limited(Int64)
    }

    /// Checks `token` for a client at `address`: refused without a look while the address has
    /// used up its failures; a wrong token uses one.
    func verify(_ token: String, from address: String) -> Verdict {
        // A failure is one unit of the address's sliding minute; with none left, every attempt is
        // refused (a right token too) until one leaves the window. A refused acquire takes nothing.
        var counted = false
        if let probe = try? failures.tryAcquire(address, cost: 0), probe.remaining <= 0,
            let attempt = try? failures.tryAcquire(address, cost: 1)
        {
            guard attempt.isAllowed else { return .limited(attempt.retryAfterNanoseconds) }
            counted = true  // A unit left the window between the two reads: this attempt took it.
        }
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        var match: String?
        for candidate in tokens where constantTimeEqual(candidate.digest, presented) && match == nil { match = candidate.name }
        if let match { return .admitted(match) }
        if !counted { _ = try? failures.tryAcquire(address, cost: 1) }
        return .wrong
    }

    /// Opens a session for `admin`: its id and CSRF token; `nil` when Redis cannot keep it.
    func open(for admin: String) async -> (id: String, session: Session)? {
        let session = Session(admin: admin, csrf: Self.random(), expires: .now + lifetime)
        let id = Self.random()
        if let (client, prefix) = redis {
            let milliseconds = String(lifetime.components.seconds * 1_000)
            guard (try? await client.send(["SET", prefix + id, admin + "\n" + session.csrf, "PX", milliseconds], key: prefix + id)) != nil else {
                return nil
            }
            return (id, session)
        }
        sessions.withLock { sessions in
            let now = ContinuousClock.now
            if sessions.count > 1_000 { sessions = sessions.filter { $0.value.expires > now } }
            sessions[id] = session
        }
        return (id, session)
    }

    /// The live session with this id.
    func session(_ id: String?) async -> Session? {
        guard let id, id.utf8.count == 64, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        if let (client, prefix) = redis {
            guard let value = try? await client.send(["GET", prefix + id], key: prefix + id).string else { return nil }
            let parts = value.split(separator: "\n", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            // Redis expires it; the instant here is not read for a shared session.
            return Session(admin: String(parts[0]), csrf: String(parts[1]), expires: .now + lifetime)
        }
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > .now else {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    func close(_ id: String) async {
        if let (client, prefix) = redis {
            _ = try? await client.send(["DEL", prefix + id], key: prefix + id)
            return
        }
        sessions.withLock { $0[id] = nil }
    }

    /// Whether `presented` is the session's CSRF token, compared in constant time.
    static func csrfMatches(_ session: Session, _ presented: String?) -> Bool {
        guard let presented else { return false }
        return constantTimeEqual(Array(SHA256.hash(data: Array(session.csrf.utf8))), Array(SHA256.hash(data: Array(presented.utf8))))
    }

    /// 32 random bytes as 64 hex digits.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
