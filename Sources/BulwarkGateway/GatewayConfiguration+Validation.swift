public import BulwarkCore

extension GatewayConfiguration {
    /// Checks every rule a file could break.
    public func validate() throws(BulwarkError) {
        guard (0 ... 65_535).contains(listen.port) else { throw .invalidConfiguration(field: "listen.port", rule: "must be in 0...65535") }
        guard windowSeconds >= 3, windowSeconds % 3 == 0, windowSeconds <= 86_400 else {
            throw .invalidConfiguration(field: "window_seconds", rule: "must be a multiple of 3 in 3...86400")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw .invalidConfiguration(field: "log_level", rule: "must be trace, debug, info, notice, warning, error or critical")
        }
        guard maxBodyBytes >= 1_024 else { throw .invalidConfiguration(field: "max_body_bytes", rule: "must be at least 1024") }
        if let redis {
            guard (1 ... 65_535).contains(redis.port) else { throw .invalidConfiguration(field: "redis.port", rule: "must be in 1...65535") }
            guard redis.timeoutMs >= 1 else { throw .invalidConfiguration(field: "redis.timeout_ms", rule: "must be at least 1") }
            guard ["closed", "open"].contains(redis.failure) else {
                throw .invalidConfiguration(field: "redis.failure", rule: "must be closed or open")
            }
            guard !redis.prefix.isEmpty else { throw .invalidConfiguration(field: "redis.prefix", rule: "must not be empty") }
            guard redis.cooldownPollMs >= 10 else { throw .invalidConfiguration(field: "redis.cooldown_poll_ms", rule: "must be at least 10") }
        }
        guard !models.isEmpty else { throw .invalidConfiguration(field: "models", rule: "must name at least one model") }
        for (name, model) in models {
            guard !model.upstreams.isEmpty else { throw .invalidConfiguration(field: "models.\(name).upstreams", rule: "must not be empty") }
            for upstream in model.upstreams where upstreams[upstream] == nil {
                throw .invalidConfiguration(field: "models.\(name).upstreams", rule: "names no upstream \"\(upstream)\"")
            }
            guard model.maxOutput >= 1 else { throw .invalidConfiguration(field: "models.\(name).max_output", rule: "must be at least 1") }
            guard (1 ... model.maxOutput).contains(model.defaultMaxOutput) else {
                throw .invalidConfiguration(field: "models.\(name).default_max_output", rule: "must be in 1...max_output (\(model.maxOutput))")
            }
        }
        for (name, upstream) in upstreams {
            switch upstream.kind {
            case "mock":
                try upstream.mock.validate(field: "upstreams.\(name).mock")
            case "openai":
                guard let url = upstream.url, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw .invalidConfiguration(field: "upstreams.\(name).url", rule: "must be an http:// or https:// URL")
                }
            default:
                throw .invalidConfiguration(field: "upstreams.\(name).kind", rule: "must be mock or openai")
            }
            guard upstream.timeoutSeconds >= 1 else {
                throw .invalidConfiguration(field: "upstreams.\(name).timeout_seconds", rule: "must be at least 1")
            }
            guard upstream.healthCheckSeconds >= 0 else {
                throw .invalidConfiguration(field: "upstreams.\(name).health_check_seconds", rule: "must be at least 0")
            }
        }
        for (name, limits) in groups { try Self.check(limits, field: "groups.\(name)") }
        try validateQuotas()
        var ids = Set<String>()
        var digests = Set<String>()
        for (index, key) in keys.enumerated() {
            let field = "keys[\(index)]"
            guard !key.id.isEmpty, key.id.utf8.count <= 64, key.id.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "{" && $0 != "}" }) else {
                throw .invalidConfiguration(field: "\(field).id", rule: "must be 1 to 64 ASCII characters without spaces or braces")
            }
            guard ids.insert(key.id).inserted else { throw .invalidConfiguration(field: "\(field).id", rule: "\"\(key.id)\" is used twice") }
            guard let digest = key.digest else {
                throw .invalidConfiguration(field: field, rule: "needs exactly one of key and sha256 (64 hex digits)")
            }
            guard digests.insert(digest).inserted else { throw .invalidConfiguration(field: field, rule: "the same key is listed twice") }
            // With quotas a group may have no per-minute limits: it is a quota group.
            if let group = key.group, groups[group] == nil, quotas == nil {
                throw .invalidConfiguration(field: "\(field).group", rule: "names no group \"\(group)\"")
            }
            if let limits = key.limits { try Self.check(limits, field: "\(field).limits") }
            for (model, limits) in key.models ?? [:] {
                guard models[model] != nil else { throw .invalidConfiguration(field: "\(field).models.\(model)", rule: "names no model") }
                try Self.check(limits, field: "\(field).models.\(model)")
            }
            for model in models.keys where dimensions(of: key, model: model) > 8 {
                throw .invalidConfiguration(
                    field: field, rule: "at most 8 limits may apply to one request (key, key and model \(model), group)"
                )
            }
        }
    }

    /// How many limits apply to `key`'s requests for `model`.
    func dimensions(of key: Key, model: String) -> Int {
        let scopes = [key.limits, key.models?[model], key.group.flatMap { groups[$0] }]
        return scopes.reduce(0) { $0 + ($1?.figures.compactMap { $0 }.count ?? 0) }
    }

    private static func check(_ limits: Limits, field: String) throws(BulwarkError) {
        for (name, figure) in zip(["rpm", "input_tpm", "output_tpm"], limits.figures) {
            guard let figure else { continue }
            guard (1 ... (1 << 40)).contains(figure) else { throw .invalidConfiguration(field: "\(field).\(name)", rule: "must be in 1...2^40") }
        }
    }
}
