public import BulwarkAdmin
public import BulwarkCore
import Foundation

extension GatewayConfiguration {
    /// A user keys belong to.
    public struct User: Codable, Sendable {
        /// The user's quota group, for keys without a group of their own.
        public var group: String?

        enum CodingKeys: String, CodingKey, CaseIterable { case group }

        /// A user in `group`.
        public init(group: String? = nil) {
            self.group = group
        }

        /// Reads a user; an unknown field is refused.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            group = try c.decodeIfPresent(String.self, forKey: .group)
        }
    }

    /// The group quotas (`GroupQuotas`) and their admin listener.
    ///
    /// ```yaml
    /// quotas:
    ///   enabled: true
    ///   period_minutes: 60
    ///   total: 0            # all requests per period; 0: no limit
    ///   success: 1000       # successful requests per period
    ///   groups: {gold: [3, 2]}
    ///   file: quotas.json   # where a single node keeps them (with redis: in Redis)
    ///   admin:
    ///     port: 8081        # on 127.0.0.1 unless host says otherwise
    ///     tokens: [{name: ops, token_env: BULWARK_ADMIN_TOKEN}]
    /// ```
    ///
    /// The values here are the first settings only: once saved (the first start saves them), the
    /// stored settings win, as the admin page changes them.
    public struct Quotas: Codable, Sendable {
        /// The first settings.
        public var settings: GroupQuotaSettings
        /// The file a single node keeps the settings in (`bulwark-quotas.json`), beside its audit
        /// log (`<file>.audit`); unused with Redis.
        public var file = "bulwark-quotas.json"
        /// How often each node compares its settings' version with the store's, in milliseconds.
        public var checkIntervalMs = 1_000
        /// The admin page's listener.
        public var admin = Admin()

        enum CodingKeys: String, CodingKey, CaseIterable {
            case enabled, periodMinutes = "period_minutes", total, success, groups, file, checkIntervalMs = "check_interval_ms", admin
        }

        /// Settings with these first values.
        public init(settings: GroupQuotaSettings, admin: Admin = Admin()) {
            self.settings = settings
            self.admin = admin
        }

        /// Reads the section; absent fields take their defaults, an unknown one is refused.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            let defaults = GroupQuotaSettings()
            let groups = try c.decode(.groups, default: [String: [Int]]())
            var settings = GroupQuotaSettings(
                enabled: try c.decode(.enabled, default: defaults.enabled), periodMinutes: try c.decode(.periodMinutes, default: defaults.periodMinutes),
                total: try c.decode(.total, default: defaults.total), success: try c.decode(.success, default: defaults.success)
            )
            for (name, pair) in groups {
                guard pair.count == 2 else {
                    throw DecodingError.dataCorrupted(.init(
                        codingPath: c.codingPath + [CodingKeys.groups, AnyKey(stringValue: name)], debugDescription: "must be [total, success]"
                    ))
                }
                settings.groups[name] = .init(total: pair[0], success: pair[1])
            }
            self.settings = settings
            file = try c.decode(.file, default: file)
            checkIntervalMs = try c.decode(.checkIntervalMs, default: checkIntervalMs)
            admin = try c.decode(.admin, default: admin)
        }

        /// Writes the section.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(settings.enabled, forKey: .enabled)
            try c.encode(settings.periodMinutes, forKey: .periodMinutes)
            try c.encode(settings.total, forKey: .total)
            try c.encode(settings.success, forKey: .success)
            try c.encode(settings.groups.mapValues { [$0.total, $0.success] }, forKey: .groups)
            try c.encode(file, forKey: .file)
            try c.encode(checkIntervalMs, forKey: .checkIntervalMs)
            try c.encode(admin, forKey: .admin)
        }
    }

    /// The admin page's listener and credentials.
    public struct Admin: Codable, Sendable {
        /// The address it binds: localhost unless set otherwise.
        public var host = "127.0.0.1"
        /// Its port (8081).
        public var port = 8081
        /// Mark the session cookie `Secure`: set it when the page is reached over TLS.
        public var secureCookies = false
        /// Wrong tokens allowed per client address in any minute; the next attempt gets 429.
        public var failedLoginsPerMinute = 9
        /// The credentials; each name is what the audit log records.
        public var tokens: [Token] = []

        /// A credential: the token in an environment variable, or its SHA-256.
        public struct Token: Codable, Sendable {
            /// Who uses it.
            public var name: String
            /// The environment variable holding the token (at least 16 characters).
            public var tokenEnv: String?
            /// The SHA-256 of the token, 64 hex digits.
            public var sha256: String?

            enum CodingKeys: String, CodingKey, CaseIterable { case name, tokenEnv = "token_env", sha256 }

            /// A credential.
            public init(name: String, tokenEnv: String? = nil, sha256: String? = nil) {
                self.name = name
                self.tokenEnv = tokenEnv
                self.sha256 = sha256
            }

            /// Reads a credential; an unknown field is refused.
            public init(from decoder: any Decoder) throws {
                let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
                sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, secureCookies = "secure_cookies", failedLoginsPerMinute = "failed_logins_per_minute", tokens
        }

        /// The defaults: localhost:8081, no token (the listener then does not start).
        public init() {}

        /// Reads the settings; absent fields take their defaults, an unknown one is refused.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.checkedContainer(keyedBy: CodingKeys.self)
            host = try c.decode(.host, default: host)
            port = try c.decode(.port, default: port)
            secureCookies = try c.decode(.secureCookies, default: secureCookies)
            failedLoginsPerMinute = try c.decode(.failedLoginsPerMinute, default: failedLoginsPerMinute)
            tokens = try c.decode(.tokens, default: tokens)
        }

        /// The credentials, their tokens read from `environment` (the process's by default).
        ///
        /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a credential with
        ///   neither or both sources, an unset variable or a short token.
        public func credentials(environment: [String: String]? = nil) throws(BulwarkError) -> [AdminToken] {
            let environment = environment ?? ProcessInfo.processInfo.environment
            return try tokens.enumerated().map { index, token throws(BulwarkError) in
                let field = "quotas.admin.tokens[\(index)]"
                switch (token.tokenEnv, token.sha256) {
                case (let variable?, nil):
                    guard let value = environment[variable], !value.isEmpty else {
                        throw .invalidConfiguration(field: "\(field).token_env", rule: "the environment variable \(variable) is not set")
                    }
                    return try AdminToken(name: token.name, token: value)
                case (nil, let digest?):
                    return try AdminToken(name: token.name, sha256: digest)
                default:
                    throw .invalidConfiguration(field: field, rule: "needs exactly one of token_env and sha256")
                }
            }
        }
    }

    /// The quota identity of `key`'s requests: its group, else its user's group, else its user
    /// (the key's id when it names no user).
    func quotaIdentity(of key: Key) -> QuotaIdentity {
        QuotaIdentity.of(keyGroup: key.group, userGroup: key.user.flatMap { users[$0]?.group }, user: key.user ?? key.id)
    }

    /// Checks the quota section's rules.
    func validateQuotas() throws(BulwarkError) {
        for (index, key) in keys.enumerated() {
            if let user = key.user, users[user] == nil {
                throw .invalidConfiguration(field: "keys[\(index)].user", rule: "names no user \"\(user)\" in users")
            }
        }
        guard let quotas else { return }
        do {
            try quotas.settings.validate()
        } catch {
            guard case .invalidArgument(let field, let rule) = error else { throw error }
            throw .invalidConfiguration(field: "quotas.\(field)", rule: rule)
        }
        guard !quotas.file.isEmpty else { throw .invalidConfiguration(field: "quotas.file", rule: "must not be empty") }
        guard (10...60_000).contains(quotas.checkIntervalMs) else {
            throw .invalidConfiguration(field: "quotas.check_interval_ms", rule: "must be in 10...60000")
        }
        guard (0...65_535).contains(quotas.admin.port) else { throw .invalidConfiguration(field: "quotas.admin.port", rule: "must be in 0...65535") }
        guard quotas.admin.failedLoginsPerMinute >= 1 else {
            throw .invalidConfiguration(field: "quotas.admin.failed_logins_per_minute", rule: "must be at least 1")
        }
        // The tokens' shape now; an environment variable's value when the admin listener starts.
        for (index, token) in quotas.admin.tokens.enumerated() {
            switch (token.tokenEnv, token.sha256) {
            case (let variable?, nil) where !variable.isEmpty:
                continue
            case (nil, let digest?):
                do {
                    _ = try AdminToken(name: token.name, sha256: digest)
                } catch {
                    guard case .invalidConfiguration(let field, let rule) = error else { throw error }
                    throw .invalidConfiguration(field: "quotas.\(field)", rule: rule)
                }
            default:
                throw .invalidConfiguration(field: "quotas.admin.tokens[\(index)]", rule: "needs exactly one of token_env and sha256")
            }
        }
    }
}
