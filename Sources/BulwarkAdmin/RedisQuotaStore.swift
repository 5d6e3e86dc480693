import BulwarkCore
import BulwarkRedisClient
import Foundation

/// The Redis keys of one set of group quotas, all under the hash tag `{<prefix>}` so that a
/// decision's keys are one slot on a cluster.
struct QuotaKeys: Sendable {
    let prefix: String

    init(prefix: String) {
        self.prefix = "{\(prefix)}:quota:"
    }

    /// The settings hash: `enabled`, `period`, `total`, `success`, `version`, `g:<group>` =
    /// `total,success`.
    var settings: String { prefix + "settings" }
    /// The audit list, newest first.
    var audit: String { prefix + "audit" }
    /// The channel a save announces its version on.
    var channel: String { prefix + "changed" }

    /// An identity's counts: `p` (the period), `t`, `s`.
    func counts(_ identity: QuotaIdentity) -> String { prefix + "count:\(identity)" }

    /// A minute's decisions: `admitted`, `refused`, `failed`.
    func history(minute: Int64) -> String { prefix + "history:\(minute)" }

    /// The settings field of the identity's override (`u`, never set, for a user).
    func overrideField(_ identity: QuotaIdentity) -> String {
        if case .group(let name) = identity { return "g:" + name }
        return "u"
    }
}

/// The settings, their version and the audit log in Redis, saved in one script call that also
/// publishes the new version (see ``GroupQuotas/onRedis(initial:client:prefix:timeout:checkInterval:)``).
final class RedisQuotaStore: QuotaSettingsStore {
    /// The audit entries kept.
    static let auditLength = 1_000
    private let client: RedisClient
    private let keys: QuotaKeys

    init(client: RedisClient, keys: QuotaKeys) {
        self.client = client
        self.keys = keys
    }

    func load(initial: GroupQuotaSettings) async throws(QuotaSaveError) -> VersionedQuotaSettings {
        for _ in 0..<3 {
            if let stored = try await read() { return stored }
            do {
                return try await save(initial, expected: VersionedQuotaSettings(settings: initial, version: 0), by: "configuration")
            } catch .conflict {
                continue  // Another node saved the first settings meanwhile: read them.
            }
        }
        throw .unavailable("the settings kept changing while being read")
    }

    func version() async throws(QuotaSaveError) -> Int {
        do {
            return Int(try await client.send(["HGET", keys.settings, "version"], key: keys.settings).string ?? "0") ?? 0
        } catch {
            throw .unavailable("\(error)")
        }
    }

    func save(_ settings: GroupQuotaSettings, expected: VersionedQuotaSettings, by admin: String) async throws(QuotaSaveError)
        -> VersionedQuotaSettings
    {
        let version = expected.version + 1
        let entry = QuotaAuditEntry(
            admin: admin, atMilliseconds: FileQuotaStore.nowMilliseconds, version: version,
            old: expected.version == 0 ? nil : expected.settings, new: settings
        )
        var fields = [
            "enabled", settings.enabled ? "1" : "0", "period", String(settings.periodMinutes),
            "total", String(settings.total), "success", String(settings.success),
        ]
        for (name, limits) in settings.groups { fields += ["g:" + name, "\(limits.total),\(limits.success)"] }
        let reply: RESPValue
        do {
            reply = try await client.evaluate(
                Self.save, keys: [keys.settings, keys.audit],
                arguments: [String(expected.version), keys.channel, entry.json, String(Self.auditLength)] + fields
            )
        } catch {
            throw .unavailable("\(error)")
        }
        guard let values = reply.array, values.count == 2, let saved = values[0].integer, let stored = values[1].integer else {
            throw .unavailable("an unexpected reply to the save: \(reply)")
        }
        guard saved == 1 else { throw .conflict(current: Int(stored)) }
        return VersionedQuotaSettings(settings: settings, version: Int(stored))
    }

    func audit(limit: Int) async throws(QuotaSaveError) -> [QuotaAuditEntry] {
        do {
            let reply = try await client.send(["LRANGE", keys.audit, "0", String(limit - 1)], key: keys.audit)
            return (reply.array ?? []).compactMap { $0.string.flatMap(QuotaAuditEntry.init(json:)) }
        } catch {
            throw .unavailable("\(error)")
        }
    }

    func announcements() async -> AsyncStream<Int> {
        guard let messages = try? await client.subscribe(to: keys.channel) else { return AsyncStream { $0.finish() } }
        return AsyncStream { continuation in
            let task = Task {
                for await message in messages { if let version = Int(message) { continuation.yield(version) } }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The stored settings, or `nil` when none are.
    private func read() async throws(QuotaSaveError) -> VersionedQuotaSettings? {
        let reply: RESPValue
        do {
            reply = try await client.send(["HGETALL", keys.settings], key: keys.settings)
        } catch {
            throw .unavailable("\(error)")
        }
        var fields: [String: String] = [:]
        // A map in RESP3, a flat array of names and values in RESP2: `array` reads both flat.
        let flat = reply.array ?? []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let value = flat[index + 1].string { fields[name] = value }
            index += 2
        }
        guard let version = fields["version"].flatMap({ Int($0) }) else { return nil }
        var settings = GroupQuotaSettings(
            enabled: fields["enabled"] == "1", periodMinutes: Int(fields["period"] ?? "") ?? 0,
            total: Int(fields["total"] ?? "") ?? -1, success: Int(fields["success"] ?? "") ?? 0
        )
        for (field, value) in fields where field.hasPrefix("g:") {
            let parts = value.split(separator: ",")
            guard parts.count == 2, let total = Int(parts[0]), let success = Int(parts[1]) else {
                throw .unavailable("\(keys.settings) holds a malformed override \(field)")
            }
            settings.groups[String(field.dropFirst(2))] = .init(total: total, success: success)
        }
        do {
            try settings.validate()
        } catch {
            throw .unavailable("\(keys.settings) holds settings that break a rule: \(error)")
        }
        return VersionedQuotaSettings(settings: settings, version: version)
    }

    static let save = RedisScript(String(decoding: PackageResources.quota_save_lua, as: UTF8.self))
}

extension GroupQuotas {
    static let script = RedisScript(String(decoding: PackageResources.group_quota_lua, as: UTF8.self))
    static let historyScript = RedisScript(String(decoding: PackageResources.quota_history_lua, as: UTF8.self))

    /// One decision (or a peek) by the Redis script; `nil` when Redis holds no settings.
    static func decide(
        _ identity: QuotaIdentity,
        _ operation: MemoryQuotaCounts.Operation,
        client: RedisClient,
        keys: QuotaKeys,
        timeout: Duration
    ) async throws(BulwarkError) -> Decision? {
        let reply: RESPValue
        do {
            reply = try await client.evaluate(
                script, keys: [keys.settings, keys.counts(identity), keys.history(minute: minuteNow)],
                arguments: [operation == .begin ? "begin" : "peek", keys.overrideField(identity)], timeout: timeout
            )
        } catch {
            throw .dependencyFailed(dependency: "redis", reason: "\(error)")
        }
        guard let values = reply.array, let state = values.first?.integer else {
            throw .dependencyFailed(dependency: "redis", reason: "an unexpected reply to a quota decision: \(reply)")
        }
        guard state >= 0 else { return nil }
        guard values.count == 8 else {
            throw .dependencyFailed(dependency: "redis", reason: "an unexpected reply to a quota decision: \(reply)")
        }
        let number = { (index: Int) in Int(values[index].integer ?? 0) }
        let usage = Usage(identity: identity, totalUsed: number(3), totalLimit: number(4), successUsed: number(5), successLimit: number(6))
        let period = values[7].string ?? ""
        let admitted = state == 1 && operation == .begin
        return Decision(
            isAllowed: state != 0, refusedBy: number(1) == 1 ? .success : number(1) == 2 ? .total : nil,
            periodEndsInNanoseconds: Int64(number(2)) * 1_000_000, usage: usage,
            call: admitted ? Call(identity: identity, period: period) : nil
        )
    }
}
