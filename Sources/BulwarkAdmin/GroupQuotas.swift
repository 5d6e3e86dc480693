public import BulwarkCore
public import BulwarkMonitors
public import BulwarkRedisClient
import Foundation

/// Quotas per period on all requests and on successful requests, per group (or per user without
/// one), with settings an operator changes while the service runs (``QuotaAdmin``'s page and API).
///
///     let quotas = try await GroupQuotas.onRedis(initial: settings, client: redis, prefix: "gateway")
///     let decision = try await quotas.begin(.group("gold"))
///     guard decision.isAllowed, let call = decision.call else { return tooManyRequests(decision) }
///     let reply = try await upstream.send(request)
///     await quotas.finish(call, succeeded: (200..<300).contains(reply.status))
///
/// **A decision**, in order: the success quota is checked (the successes counted in the current
/// period plus this one must stay within `success`), then the total (within `total`, unless it is
/// 0); if both pass, the call takes one unit of each, else it takes nothing and is refused until the
/// period ends. A call that then fails gives its success unit back: only successes stay counted. A
/// call in flight thus holds a success unit, so however many run at once, successes never exceed
/// the quota; a node that dies mid-call leaves its unit counted as a success.
///
/// **Periods** are `period_minutes` long and aligned to the Unix epoch (Redis's clock on Redis, the
/// node's in memory); changing the period starts counting afresh.
///
/// **Settings** live in a ``QuotaSettingsStore``. On Redis the decision script reads them from
/// Redis itself, so a saved change is in force on every node for its very next decision; each
/// node's own copy (the page, ``current``) follows within a second: a save publishes its version
/// and every node also compares versions every ``checkInterval``. In memory (one node) the settings
/// are in a file, and a save is in force at once.
public final class GroupQuotas: Sendable {
    /// Why a request was refused.
    public enum Refusal: String, Sendable {
        /// The success quota has none left this period.
        case success
        /// The total has none left this period.
        case total
    }

    /// A request's answer and its identity's counts after it.
    public struct Decision: Sendable, Hashable {
        /// Whether the request may go ahead.
        public let isAllowed: Bool
        /// What refused it.
        public let refusedBy: Refusal?
        /// Until the period ends, in nanoseconds: a refused request's wait.
        public let periodEndsInNanoseconds: Int64
        /// The identity's counts and limits this period (including this request when admitted).
        public let usage: Usage
        /// What ``finish(_:succeeded:)`` takes: `nil` when refused, or when quotas are disabled.
        public let call: Call?
    }

    /// An identity's counts and limits in the current period.
    public struct Usage: Sendable, Hashable {
        /// Whom they are for.
        public let identity: QuotaIdentity
        /// All requests counted.
        public let totalUsed: Int
        /// Their limit; 0 is none.
        public let totalLimit: Int
        /// Successful requests counted (and requests in flight).
        public let successUsed: Int
        /// Their limit.
        public let successLimit: Int
    }

    /// An admitted request, to finish with its outcome.
    public struct Call: Sendable, Hashable {
        /// Whom it counts against.
        public let identity: QuotaIdentity
        /// The period it was counted in.
        let period: String
    }

    /// One minute of decisions, for the page's chart.
    public struct Minute: Sendable, Hashable {
        /// Minutes since the Unix epoch.
        public let minute: Int64
        /// Requests admitted, refused, and admitted then failed.
        public let admitted, refused, failed: Int
    }

    /// How often each node compares its settings' version with the store's: the backstop should
    /// an announcement be lost.
    public let checkInterval: Duration
    let store: any QuotaSettingsStore
    private let settings: LockedValue<VersionedQuotaSettings>
    private let counts: Counts

    private enum Counts: Sendable {
        case memory(MemoryQuotaCounts)
        case redis(RedisClient, keys: QuotaKeys, timeout: Duration)
    }

    private init(store: any QuotaSettingsStore, loaded: VersionedQuotaSettings, counts: Counts, checkInterval: Duration) {
        self.store = store
        self.settings = LockedValue(loaded)
        self.counts = counts
        self.checkInterval = checkInterval
    }

    /// Quotas counted in this process, their settings kept in the file at `path` (read before this
    /// returns; `initial` written there when there is none).
    ///
    /// - Parameters:
    ///   - initial: The settings saved when the file holds none.
    ///   - path: The settings file (its audit log beside it, `<path>.audit`).
    ///   - checkInterval: How often the file's version is compared with this node's.
    ///   - now: The wall clock, in nanoseconds since the Unix epoch (a test's manual one); by
    ///     default the system's.
    public static func inMemory(
        initial: GroupQuotaSettings,
        file path: String,
        checkInterval: Duration = .seconds(1),
        now: (@Sendable () -> Int64)? = nil
    ) async throws(QuotaSaveError) -> GroupQuotas {
        let now = now ?? { Int64(Date().timeIntervalSince1970 * 1e9) }
        let store = FileQuotaStore(path: path)
        let loaded = try await store.load(initial: initial)
        return GroupQuotas(store: store, loaded: loaded, counts: .memory(MemoryQuotaCounts(now: now)), checkInterval: checkInterval)
    }

    /// Quotas counted in Redis, their settings and audit log kept there under `{<prefix>}:quota:`
    /// (read before this returns; `initial` saved when there are none).
    public static func onRedis(
        initial: GroupQuotaSettings,
        client: RedisClient,
        prefix: String,
        timeout: Duration = .milliseconds(250),
        checkInterval: Duration = .seconds(1)
    ) async throws(QuotaSaveError) -> GroupQuotas {
        let keys = QuotaKeys(prefix: prefix)
        let store = RedisQuotaStore(client: client, keys: keys)
        let loaded = try await store.load(initial: initial)
        return GroupQuotas(store: store, loaded: loaded, counts: .redis(client, keys: keys, timeout: timeout), checkInterval: checkInterval)
    }

    /// Where the admin page's sessions are shared: Redis and a key prefix, for quotas on Redis.
    var sessionStore: (RedisClient, String)? {
        if case .redis(let client, let keys, _) = counts { return (client, keys.prefix + "session:") }
        return nil
    }

    /// This node's copy of the settings.
    public var current: VersionedQuotaSettings { settings.withLock { $0 } }

    /// Decides one request of `identity`; admitted, it is counted.
    ///
    /// - Throws: `BulwarkError/dependencyFailed(dependency:reason:)` when Redis cannot answer.
    public func begin(_ identity: QuotaIdentity) async throws(BulwarkError) -> Decision {
        switch counts {
        case .memory(let counts):
            return counts.decide(identity, .begin, settings: current.settings)
        case .redis(let client, let keys, let timeout):
            if let decision = try await Self.decide(identity, .begin, client: client, keys: keys, timeout: timeout) { return decision }
            // No settings in Redis (a restart without persistence, a flush): this node's copy is
            // stored again, as a new version, and the decision made on it.
            await reseed()
            guard let decision = try await Self.decide(identity, .begin, client: client, keys: keys, timeout: timeout) else {
                throw .dependencyFailed(dependency: "redis", reason: "no quota settings are stored under \(keys.settings)")
            }
            return decision
        }
    }

    /// Stores this node's settings when the store has none.
    private func reseed() async {
        if let loaded = try? await store.load(initial: current.settings) { apply(loaded) }
    }

    /// Reports how an admitted request ended: a failure gives its success unit back (if its period
    /// is still the current one).
    public func finish(_ call: Call, succeeded: Bool) async {
        guard !succeeded else { return }
        await undo(call, cancel: false)
    }

    /// Takes back an admitted request that was never made (another limit refused it): both its
    /// units go back.
    public func cancel(_ call: Call) async {
        await undo(call, cancel: true)
    }

    private func undo(_ call: Call, cancel: Bool) async {
        switch counts {
        case .memory(let counts):
            counts.undo(call, cancel: cancel)
        case .redis(let client, let keys, let timeout):
            _ = try? await client.evaluate(
                Self.script, keys: [keys.settings, keys.counts(call.identity), keys.history(minute: Self.minuteNow)],
                arguments: [cancel ? "cancel" : "fail", keys.overrideField(call.identity), call.period], timeout: timeout
            )
        }
    }

    /// The counts and limits of each identity this period, without counting anything.
    public func usage(of identities: [QuotaIdentity]) async throws(BulwarkError) -> [Usage] {
        var usages: [Usage] = []
        for identity in identities {
            switch counts {
            case .memory(let counts):
                usages.append(counts.decide(identity, .peek, settings: current.settings).usage)
            case .redis(let client, let keys, let timeout):
                guard let decision = try await Self.decide(identity, .peek, client: client, keys: keys, timeout: timeout) else {
                    await reseed()
                    return []
                }
                usages.append(decision.usage)
            }
        }
        return usages
    }

    /// The last `minutes` minutes of decisions, oldest first (every node's, on Redis).
    public func history(minutes: Int = 60) async -> [Minute] {
        switch counts {
        case .memory(let counts):
            return counts.history(minutes: minutes)
        case .redis(let client, let keys, let timeout):
            let last = Self.minuteNow
            let range = (last - Int64(minutes) + 1)...last
            let reply = try? await client.evaluate(Self.historyScript, keys: range.map(keys.history), arguments: [], timeout: timeout)
            let values = reply?.array?.compactMap(\.integer).map(Int.init) ?? []
            return range.enumerated().map { index, minute in
                let base = index * 3
                guard base + 2 < values.count else { return Minute(minute: minute, admitted: 0, refused: 0, failed: 0) }
                return Minute(minute: minute, admitted: values[base], refused: values[base + 1], failed: values[base + 2])
            }
        }
    }

    /// Saves `settings` (after ``GroupQuotaSettings/validate()``) as the next version if
    /// `expectedVersion` is the stored one (`nil`: whatever is stored), records who did, and
    /// applies it on this node at once.
    ///
    /// - Throws: ``QuotaSaveError/conflict(current:)`` on a stale version.
    public func save(_ new: GroupQuotaSettings, expectedVersion: Int?, by admin: String) async throws(QuotaSaveError) -> VersionedQuotaSettings {
        let base = try await store.load(initial: current.settings)
        if let expectedVersion, expectedVersion != base.version { throw .conflict(current: base.version) }
        let saved = try await store.save(new, expected: base, by: admin)
        apply(saved)
        return saved
    }

    /// The latest changes, newest first.
    public func audit(limit: Int = 50) async throws(QuotaSaveError) -> [QuotaAuditEntry] {
        try await store.audit(limit: limit)
    }

    /// Reads the store's version and, if it is not this node's, the settings.
    public func refresh() async {
        guard let version = try? await store.version(), version != current.version,
            let loaded = try? await store.load(initial: current.settings)
        else { return }
        apply(loaded)
    }

    /// Keeps `loaded` unless this node already has a later version; a store that starts again
    /// from version 1 (Redis emptied, then seeded anew) is followed too.
    private func apply(_ loaded: VersionedQuotaSettings) {
        settings.withLock { if loaded.version > $0.version || loaded.version == 1 { $0 = loaded } }
    }

    static var minuteNow: Int64 { Int64(Date().timeIntervalSince1970) / 60 }
}

extension GroupQuotas: PeriodicWork {
    /// Follows the store until cancelled: every announced version at once, and a version check
    /// every ``checkInterval`` whatever happens to the announcements.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    for await _ in await self.store.announcements() { await self.refresh() }
                    try? await Task.sleep(for: self.checkInterval)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.refresh()
                    try? await Task.sleep(for: self.checkInterval)
                }
            }
            await group.waitForAll()
        }
    }
}
