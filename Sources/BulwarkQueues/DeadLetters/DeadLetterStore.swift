import BulwarkCore

/// One piece of failed work as a store keeps it: the job encoded, why it failed, how often it was
/// tried and when.
public struct DeadLetterRecord: Sendable, Hashable, Codable, Identifiable {
    /// Unique within its store, increasing in the order records were added.
    public var id: UInt64
    /// The job, encoded by the ``DeadLetterQueue`` (JSON text).
    public var payload: String
    /// The description of the last error.
    public var error: String
    /// How many attempts were made before giving up.
    public var attempts: Int
    /// The job's priority, kept for replay.
    public var priority: Int
    /// The job's partition, kept for replay.
    public var partitionKey: String?
    /// When the job was first submitted, in nanoseconds since the Unix epoch.
    public var submittedAt: Int64
    /// When it was given up on, in nanoseconds since the Unix epoch.
    public var failedAt: Int64

    /// Creates a record.
    public init(
        id: UInt64, payload: String, error: String, attempts: Int, priority: Int, partitionKey: String?,
        submittedAt: Int64, failedAt: Int64
    ) {
        self.id = id
        self.payload = payload
        self.error = error
        self.attempts = attempts
        self.priority = priority
        self.partitionKey = partitionKey
        self.submittedAt = submittedAt
        self.failedAt = failedAt
    }
}

/// Where a ``DeadLetterQueue`` keeps its records: in memory, in a file-backed journal, or (with
/// `BulwarkRedis`) in Redis.
///
/// A store assigns the ids. Everything it acknowledged (an `add` that returned) it must return
/// from ``records()`` until it is removed, in the order added.
public protocol DeadLetterStore: Sendable {
    /// Adds a record, giving it the next id (the `id` passed is ignored); returns the id.
    func add(_ record: DeadLetterRecord) async throws -> UInt64

    /// Removes the records with these ids (replayed or purged); ids not held are ignored.
    func remove(ids: [UInt64]) async throws

    /// Every record held, oldest first.
    func records() async throws -> [DeadLetterRecord]
}

/// A ``DeadLetterStore`` in this process's memory: lost when the process ends.
public final class InMemoryDeadLetterStore: DeadLetterStore {
    private let state = LockedValue<(next: UInt64, records: [UInt64: DeadLetterRecord])>((1, [:]))

    /// Creates an empty store.
    public init() {}

    /// Adds a record with the next id.
    public func add(_ record: DeadLetterRecord) async throws -> UInt64 {
        state.withLock { state in
            var record = record
            record.id = state.next
            state.next += 1
            state.records[record.id] = record
            return record.id
        }
    }

    /// Removes the records with these ids.
    public func remove(ids: [UInt64]) async throws {
        state.withLock { state in
            for id in ids { state.records.removeValue(forKey: id) }
        }
    }

    /// Every record, oldest first.
    public func records() async throws -> [DeadLetterRecord] {
        state.withLock { $0.records.values.sorted { $0.id < $1.id } }
    }
}
