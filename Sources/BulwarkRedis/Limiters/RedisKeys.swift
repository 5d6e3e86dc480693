/// Bulwark's key scheme in Redis: `<prefix>:{<scope>}:<limit>`.
///
/// - `prefix` is the namespace (an application, an environment): `api`, `prod:gateway`.
/// - `scope` is who the limit applies to, inside a hash tag (`{…}`) so that every key of one
///   subject lands on one cluster slot: a user's requests-, input- and output-token budgets are one
///   script on one node. Scopes: `global`, `tenant:<id>`, `user:<id>`, `key:<id>` (an API key),
///   `model:<id>`, or any `custom` text.
/// - `limit` names the limit: `rpm`, `itpm`, `breaker`…
///
///     let keys = RedisKeys(prefix: "api")
///     keys.key(scope: .user("42"), limit: "rpm")          // "api:{user:42}:rpm"
///     keys.key(scope: .global, limit: "rpm", shard: 3)    // "api:{global#3}:rpm"
///
/// **Hot global limits.** One key serves every request of a global limit, so it is one slot on
/// one node. ``key(scope:limit:shard:)`` splits it into `K` sub-keys on different slots, each
/// holding `1/K` of the limit (the caller picks a shard per request, e.g. at random). The cost is
/// accuracy: a request is refused when *its* shard is empty although others have room, so the
/// limit admits between `limit − (K − 1) × (limit/K)` … and exactly `limit` in total, never more;
/// with uneven traffic over shards the shortfall is at most the idle shards' share.
public struct RedisKeys: Sendable, Hashable {
    /// Who a limit applies to.
    public enum Scope: Sendable, Hashable {
        /// Everyone.
        case global
        /// A tenant (an organisation).
        case tenant(String)
        /// A user.
        case user(String)
        /// An API key.
        case key(String)
        /// A model (an LLM deployment).
        case model(String)
        /// Anything else, as given.
        case custom(String)

        /// The scope's text in a key.
        public var text: String {
            switch self {
            case .global: "global"
            case .tenant(let id): "tenant:\(id)"
            case .user(let id): "user:\(id)"
            case .key(let id): "key:\(id)"
            case .model(let id): "model:\(id)"
            case .custom(let text): text
            }
        }
    }

    /// The namespace every key starts with.
    public let prefix: String

    /// Creates a scheme under `prefix`.
    public init(prefix: String = "bulwark") {
        self.prefix = prefix
    }

    /// The key of `limit` for `scope`; with `shard`, the key of that sub-key of a split limit.
    ///
    /// Braces in identifiers are replaced by parentheses: a `}` inside the tag would end it early
    /// and scatter one subject's keys over several slots.
    public func key(scope: Scope, limit: String, shard: Int? = nil) -> String {
        let tag = Self.clean(scope.text) + (shard.map { "#\($0)" } ?? "")
        return "\(prefix):{\(tag)}:\(limit)"
    }

    private static func clean(_ text: String) -> String {
        String(text.map { $0 == "{" ? "(" : $0 == "}" ? ")" : $0 })
    }
}

extension RedisKeys {
    /// 128 random bits as 32 lowercase hex digits (leading zeros kept, so every id has the same
    /// length): the id of a lease, a reservation or a node, unique without coordination.
    static func uniqueID() -> String {
        var generator = SystemRandomNumberGenerator()
        func digits(_ value: UInt64) -> String {
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        return digits(generator.next()) + digits(generator.next())
    }
}
