public import BulwarkQueues

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A `DeadLetterStore` in Redis: the dead-letter queue shared by every node, surviving their
/// restarts (as durable as the server's persistence: `appendonly yes` for a queue that must not
/// lose a letter).
///
///     let letters = DeadLetterQueue<Request>(store: RedisDeadLetterStore(client: redis, name: "gateway"))
///
/// Three keys under one hash tag (`<prefix>:{dlq:<name>}:…`, one cluster slot): `seq` (the last id
/// given), `records` (a hash, id → the record's fingerprint, a space and the record as JSON) and `tokens` (a hash, a record's fingerprint
/// → its id). An add is one script call that is **idempotent**: a record added again (a retry after
/// a reply was lost, which the scheduler makes) gets its first id back instead of a second copy.
/// The fingerprint is the SHA-1 of the record without its id and failure time.
public final class RedisDeadLetterStore: DeadLetterStore {
    /// The queue's name in the keys.
    public let name: String
    private let client: RedisClient
    private let keys: [String]
    private let timeout: Duration?

    private static let add = RedisScript(#"""
        local id = redis.call('HGET', KEYS[3], ARGV[1])
        if id then return tonumber(id) end
        id = redis.call('INCR', KEYS[1])
        redis.call('HSET', KEYS[2], id, ARGV[2])
        redis.call('HSET', KEYS[3], ARGV[1], id)
        return id
        """#)

    private static let remove = RedisScript(#"""
        for i = 1, #ARGV do
          local json = redis.call('HGET', KEYS[2], ARGV[i])
          if json then
            redis.call('HDEL', KEYS[2], ARGV[i])
            local token = string.match(json, '^(%x+) ')
            if token then redis.call('HDEL', KEYS[3], token) end
          end
        end
        return 0
        """#)

    /// Creates the store for queue `name` under `prefix`.
    public init(client: RedisClient, name: String, prefix: String = "bulwark", timeout: Duration? = nil) {
        self.client = client
        self.name = name
        self.timeout = timeout
        let base = RedisKeys(prefix: prefix).key(scope: .custom("dlq:\(name)"), limit: "")
        self.keys = ["seq", "records", "tokens"].map { base + $0 }
    }

    /// Adds a record with the next id (or returns the id it already has); one script call.
    ///
    /// - Throws: `RedisError` when Redis cannot take it (the scheduler keeps such a letter and
    ///   tries again; the retry cannot duplicate it).
    public func add(_ record: DeadLetterRecord) async throws -> UInt64 {
        var fingerprint = record
        fingerprint.id = 0
        fingerprint.failedAt = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same record, the same text
        let token = RedisScript(String(decoding: try encoder.encode(fingerprint), as: UTF8.self)).sha1
        let json = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        let reply = try await client.evaluate(Self.add, keys: keys, arguments: [token, token + " " + json], timeout: timeout)
        guard let id = reply.integer, id > 0 else { throw RedisError.protocolViolation("an id was expected, got \(reply)") }
        return UInt64(id)
    }

    /// Removes the records with these ids (and their fingerprints); one script call.
    public func remove(ids: [UInt64]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await client.evaluate(Self.remove, keys: keys, arguments: ids.map(String.init), timeout: timeout)
    }

    /// Every record held, oldest first (one `HGETALL`).
    public func records() async throws -> [DeadLetterRecord] {
        guard let flat = try await client.send(["HGETALL", keys[1]], key: keys[1], timeout: timeout).array else { return [] }
        var records: [DeadLetterRecord] = []
        var index = 0
        while index + 1 < flat.count {
            if let id = flat[index].integer, let value = flat[index + 1].string, let space = value.firstIndex(of: " ") {
                var record = try JSONDecoder().decode(DeadLetterRecord.self, from: Data(value[value.index(after: space)...].utf8))
                record.id = UInt64(id)
                records.append(record)
            }
            index += 2
        }
        return records.sorted { $0.id < $1.id }
    }
}
