import BulwarkCore
import Foundation
import BulwarkGateway
import Testing

/// A configuration file is checked when read, and a refusal names the field and the rule.
@Suite struct GatewayConfigurationTests {
    static let valid = """
        models: {gpt-4o-mini: {upstreams: [mock]}}
        upstreams: {mock: {kind: mock}}
        groups: {free: {rpm: 10}}
        keys: [{id: alice, key: sk-alice, group: free, limits: {rpm: 5, input_tpm: 100}}]
        """

    @Test("a valid file reads with its defaults")
    func valid() throws {
        let configuration = try GatewayConfiguration.parse(Self.valid)
        #expect(configuration.listen.port == 8080 && configuration.windowSeconds == 60 && configuration.redis == nil)
        #expect(configuration.models["gpt-4o-mini"]?.defaultMaxOutput == 1_024)
        #expect(configuration.keys[0].limits == GatewayConfiguration.Limits(rpm: 5, inputTpm: 100))
    }

    @Test("each broken rule is refused, naming its field", arguments: [
        ("listen: {port: 70000}\n", "listen.port"),
        ("window_seconds: 10\n", "window_seconds"),
        ("listen: {prot: 1}\n", "listen.prot"),
        ("redis: {failure: maybe}\n", "redis.failure"),
        ("redis: {cooldown_poll_ms: 1}\n", "redis.cooldown_poll_ms"),
        ("log_level: loud\n", "log_level"),
        ("quotas: {success: 0}\n", "quotas.success"),
        ("quotas: {period_minutes: 10081}\n", "quotas.period_minutes"),
        ("quotas: {groups: {gold: [3, 0]}}\n", "quotas.groups.gold.success"),
        ("quotas: {groups: {gold: [3]}}\n", "quotas.groups.gold"),
        ("quotas: {check_interval_ms: 5}\n", "quotas.check_interval_ms"),
        ("quotas: {admin: {tokens: [{name: ops}]}}\n", "quotas.admin.tokens[0]"),
        ("quotas: {admin: {tokens: [{name: ops, sha256: abc}]}}\n", "quotas.admin.tokens.ops.sha256"),
        ("quotas: {admin: {passwords: []}}\n", "quotas.admin.passwords"),
        ("users: {bob: {team: x}}\n", "users.bob.team"),
    ])
    func refused(_ prefix: String, _ field: String) {
        #expect {
            try GatewayConfiguration.parse(prefix + Self.valid)
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let named, _) = error else { return false }
            return named == field
        }
    }

    @Test("a key must name a group, a model and one kind of secret that exist")
    func keys() {
        for (text, field) in [
            ("keys: [{id: a, key: k, group: paid}]", "keys[0].group"),
            ("keys: [{id: a, key: k, sha256: abc}]", "keys[0]"),
            ("keys: [{id: a, key: k, limits: {rpm: 0}}]", "keys[0].limits.rpm"),
            ("keys: [{id: a, key: k, models: {gpt-5: {rpm: 1}}}]", "keys[0].models.gpt-5"),
            ("keys: [{id: a, key: k}, {id: a, key: j}]", "keys[1].id"),
            ("keys: [{id: a, key: k, user: nobody}]", "keys[0].user"),
        ] {
            let configuration = Self.valid.replacingOccurrences(of: "keys: [{id: alice, key: sk-alice, group: free, limits: {rpm: 5, input_tpm: 100}}]", with: text)
            #expect {
                try GatewayConfiguration.parse(configuration)
            } throws: { error in
                guard case BulwarkError.invalidConfiguration(let named, _) = error else { return false }
                return named == field
            }
        }
    }

    @Test("an upstream's health checks and the mock's faults are checked", arguments: [
        ("{kind: mock, health_check_seconds: -1}", "upstreams.mock.health_check_seconds"),
        ("{kind: mock, mock: {error_rate: 1.5}}", "upstreams.mock.mock.error_rate"),
        ("{kind: mock, mock: {rate_limit_rate: -0.1}}", "upstreams.mock.mock.rate_limit_rate"),
        ("{kind: mock, mock: {rpm: 0}}", "upstreams.mock.mock.rpm"),
        ("{kind: mock, mock: {outage_every_seconds: 10, outage_seconds: 11}}", "upstreams.mock.mock.outage_seconds"),
        ("{kind: mock, mock: {error_rates: 1}}", "upstreams.mock.mock.error_rates"),
    ])
    func upstreams(_ upstream: String, _ field: String) {
        #expect {
            try GatewayConfiguration.parse(Self.valid.replacingOccurrences(of: "{mock: {kind: mock}}", with: "{mock: \(upstream)}"))
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let named, _) = error else { return false }
            return named == field
        }
    }
}
