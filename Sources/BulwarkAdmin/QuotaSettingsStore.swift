import BulwarkCore
import BulwarkHTTP
import Foundation

/// Settings with the version they were saved as: 1 for the first, one more for each save.
public struct VersionedQuotaSettings: Sendable, Hashable {
    /// The settings.
    public var settings: GroupQuotaSettings
    /// Their version; the `ETag` of `GET /admin/quotas`.
    public var version: Int

    /// Pairs settings with their version.
    public init(settings: GroupQuotaSettings, version: Int) {
        self.settings = settings
        self.version = version
    }
}

/// One change in the audit log: who, when, and the settings before and after.
public struct QuotaAuditEntry: Sendable, Hashable {
    /// The admin identity: the name of the token used (`configuration` for the first settings).
    public var admin: String
    /// When, in milliseconds since the Unix epoch (the saving node's clock).
    public var atMilliseconds: Int64
    /// The version saved.
    public var version: Int
    /// The settings before (`nil` for the first).
    public var old: GroupQuotaSettings?
    /// The settings after.
    public var new: GroupQuotaSettings

    /// Creates an entry.
    public init(admin: String, atMilliseconds: Int64, version: Int, old: GroupQuotaSettings?, new: GroupQuotaSettings) {
        self.admin = admin
        self.atMilliseconds = atMilliseconds
        self.version = version
        self.old = old
        self.new = new
    }

    /// One JSON object, on one line.
    var json: String {
        #"{"admin":\#(jsonStringLiteral(admin)),"at_ms":\#(atMilliseconds),"version":\#(version),"old":\#(old?.json ?? "null"),"new":\#(new.json)}"#
    }

    /// An entry from its JSON line; `nil` for a line that is not one.
    init?(json line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let admin = object["admin"] as? String, let at = (object["at_ms"] as? NSNumber)?.int64Value,
            let version = (object["version"] as? NSNumber)?.intValue, let new = object["new"].flatMap(Self.settings)
        else { return nil }
        self.init(admin: admin, atMilliseconds: at, version: version, old: object["old"].flatMap(Self.settings), new: new)
    }

    private static func settings(_ value: Any) -> GroupQuotaSettings? {
        guard value is [String: Any], let data = try? JSONSerialization.data(withJSONObject: value) else { return nil }
        return try? GroupQuotaSettings(json: Array(data))
    }
}

/// Why a save did not happen.
public enum QuotaSaveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The settings were saved by someone else since the version the caller read: `current`.
    case conflict(current: Int)
    /// The store could not be read or written.
    case unavailable(String)

    /// What an operator reads.
    public var description: String {
        switch self {
        case .conflict(let current): "the settings changed (now version \(current)) since you read them"
        case .unavailable(let reason): "the settings store is unavailable: \(reason)"
        }
    }
}

/// Where the settings, their version and the audit log are kept: a file on one node
/// (``FileQuotaStore``), Redis for many (see ``GroupQuotas/onRedis(initial:client:prefix:timeout:checkInterval:)``).
public protocol QuotaSettingsStore: Sendable {
    /// The stored settings; `initial` saved as version 1 (by `configuration`) when none are.
    func load(initial: GroupQuotaSettings) async throws(QuotaSaveError) -> VersionedQuotaSettings
    /// The stored version, cheaply: what the periodic check compares.
    func version() async throws(QuotaSaveError) -> Int
    /// Saves `settings` as the next version if `expected` is the stored one; records the change.
    func save(_ settings: GroupQuotaSettings, expected: VersionedQuotaSettings, by admin: String) async throws(QuotaSaveError)
        -> VersionedQuotaSettings
    /// The latest changes, newest first.
    func audit(limit: Int) async throws(QuotaSaveError) -> [QuotaAuditEntry]
    /// Versions announced by other nodes as they save (empty for a store that cannot announce);
    /// ends when the announcements are lost, to be asked again.
    func announcements() async -> AsyncStream<Int>
}

/// The settings in a local file, for a single node: `<path>` holds `{"version", "settings"}`,
/// written atomically (a temporary file written, synced, renamed over it, the directory synced),
/// and `<path>.audit` the audit log, a JSON line per change, each synced as it is appended.
public final class FileQuotaStore: QuotaSettingsStore {
    /// The settings file.
    public let path: String
    private let lock = LockedValue(())

    /// A store in `path` (created on first ``load(initial:)``).
    public init(path: String) {
        self.path = path
    }

    public func load(initial: GroupQuotaSettings) async throws(QuotaSaveError) -> VersionedQuotaSettings {
        try lock.withLock { _ throws(QuotaSaveError) in
            if let stored = try read() { return stored }
            let first = VersionedQuotaSettings(settings: initial, version: 1)
            try persist(first, entry: QuotaAuditEntry(admin: "configuration", atMilliseconds: Self.nowMilliseconds, version: 1, old: nil, new: initial))
            return first
        }
    }

    public func version() async throws(QuotaSaveError) -> Int {
        try lock.withLock { _ throws(QuotaSaveError) in try read()?.version ?? 0 }
    }

    public func save(_ settings: GroupQuotaSettings, expected: VersionedQuotaSettings, by admin: String) async throws(QuotaSaveError)
        -> VersionedQuotaSettings
    {
        try lock.withLock { _ throws(QuotaSaveError) in
            let stored = try read()
            guard (stored?.version ?? 0) == expected.version else { throw .conflict(current: stored?.version ?? 0) }
            let next = VersionedQuotaSettings(settings: settings, version: expected.version + 1)
            try persist(next, entry: QuotaAuditEntry(
                admin: admin, atMilliseconds: Self.nowMilliseconds, version: next.version, old: stored?.settings, new: settings
            ))
            return next
        }
    }

    public func audit(limit: Int) async throws(QuotaSaveError) -> [QuotaAuditEntry] {
        guard let data = FileManager.default.contents(atPath: path + ".audit") else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        return lines.suffix(limit).reversed().compactMap { QuotaAuditEntry(json: String($0)) }
    }

    /// None: another process's save is found by the periodic check.
    public func announcements() async -> AsyncStream<Int> { AsyncStream { $0.finish() } }

    private func read() throws(QuotaSaveError) -> VersionedQuotaSettings? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let version = (object["version"] as? NSNumber)?.intValue, let settings = object["settings"],
            let encoded = try? JSONSerialization.data(withJSONObject: settings)
        else { throw .unavailable("\(path) is not a settings file") }
        do {
            return VersionedQuotaSettings(settings: try GroupQuotaSettings(json: Array(encoded)), version: version)
        } catch {
            throw .unavailable("\(path) holds settings that break a rule: \(error)")
        }
    }

    private func persist(_ value: VersionedQuotaSettings, entry: QuotaAuditEntry) throws(QuotaSaveError) {
        let text = #"{"version":\#(value.version),"settings":\#(value.settings.json)}"# + "\n"
        let temporary = path + ".tmp"
        try Self.writeSynced(temporary, Array(text.utf8), append: false)
        guard rename(temporary, path) == 0 else { throw .unavailable("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))") }
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        try Self.writeSynced(path + ".audit", Array((entry.json + "\n").utf8), append: true)
    }

    private static func writeSynced(_ path: String, _ bytes: [UInt8], append: Bool) throws(QuotaSaveError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        guard descriptor >= 0 else { throw .unavailable("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else { throw .unavailable("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw .unavailable("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
