public import BulwarkCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A piece of failed work, decoded: the job, why it failed, how often it was tried and when.
public struct DeadLetter<Job: Sendable>: Sendable, Identifiable {
    /// Its id in the store.
    public var id: UInt64
    /// The job as it was submitted.
    public var job: Job
    /// The description of the last error.
    public var error: String
    /// How many attempts were made.
    public var attempts: Int
    /// The job's priority.
    public var priority: Priority
    /// The job's partition.
    public var partitionKey: String?
    /// When the job was first submitted, in nanoseconds since the Unix epoch.
    public var submittedAt: Int64
    /// When it was given up on, in nanoseconds since the Unix epoch.
    public var failedAt: Int64
}

/// What a replay did: the letters that ran and were removed, and those that failed again and
/// stay.
public struct DeadLetterReplay: Sendable, Hashable {
    /// The ids replayed successfully (removed from the store).
    public var replayed: [UInt64] = []
    /// The ids that failed again, with the error's description (kept in the store).
    public var failed: [UInt64: String] = [:]
}

/// Work that failed for good, kept so it can be inspected, replayed and purged.
///
/// Jobs are `Codable`: a letter is stored encoded (JSON) in a ``DeadLetterStore``, so the same
/// queue runs on ``InMemoryDeadLetterStore``, on the durable ``JournalDeadLetterStore``, or on
/// Redis. A replay hands each letter to a closure (a pipeline, or the scheduler's `submit`);
/// a letter is removed only once its replay succeeded, so a replay that fails or crashes loses
/// nothing.
///
///     let deadLetters = DeadLetterQueue<Request>(store: try JournalDeadLetterStore(path: "dlq.journal"))
///     try await deadLetters.add(request, error: error, attempts: 3)
///     let report = await deadLetters.replay { letter in try scheduler.enqueue(letter.job) }
public final class DeadLetterQueue<Job: Codable & Sendable>: Sendable {
    /// Where the letters are kept.
    public let store: any DeadLetterStore
    /// Nanoseconds since the Unix epoch, for the letters' timestamps.
    public let wallClock: @Sendable () -> Int64

    /// Creates a queue over `store`.
    ///
    /// - Parameters:
    ///   - store: Where letters are kept; in memory by default.
    ///   - wallClock: Nanoseconds since the Unix epoch, for the letters' timestamps.
    public init(
        store: any DeadLetterStore = InMemoryDeadLetterStore(),
        wallClock: @escaping @Sendable () -> Int64 = DeadLetterQueue.unixNanoseconds
    ) {
        self.store = store
        self.wallClock = wallClock
    }

    /// Nanoseconds since the Unix epoch, from the system's real-time clock.
    public static func unixNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Adds failed work; returns its id once the store has acknowledged it.
    ///
    /// - Parameters:
    ///   - job: The work.
    ///   - error: Why it failed (its description is kept).
    ///   - attempts: How many attempts were made.
    ///   - priority: The job's priority, kept for replay.
    ///   - partitionKey: The job's partition, kept for replay.
    ///   - submittedAt: When the job was first submitted (Unix nanoseconds); now by default.
    /// - Throws: What encoding the job or the store threw.
    @discardableResult
    public func add(
        _ job: Job, error: any Error, attempts: Int, priority: Priority = .normal, partitionKey: String? = nil,
        submittedAt: Int64? = nil
    ) async throws -> UInt64 {
        let now = wallClock()
        let payload = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        let record = DeadLetterRecord(
            id: 0, payload: payload, error: String(describing: error), attempts: attempts, priority: priority.rawValue,
            partitionKey: partitionKey, submittedAt: submittedAt ?? now, failedAt: now
        )
        return try await store.add(record)
    }

    /// Every letter, oldest first.
    ///
    /// - Throws: What the store threw, or a `DecodingError` for a payload that no longer decodes
    ///   as `Job` (its record stays in the store).
    public func letters() async throws -> [DeadLetter<Job>] {
        try await store.records().map(Self.decode)
    }

    /// How many letters are held.
    public func count() async throws -> Int {
        try await store.records().count
    }

    /// Replays letters, oldest first, one at a time: each is handed to `handler`, and removed from
    /// the store once `handler` returns. One that throws stays, and the replay goes on.
    ///
    /// - Parameters:
    ///   - ids: The letters to replay; all of them by default.
    ///   - handler: Runs the job again (through a pipeline, or the scheduler).
    public func replay(
        ids: Set<UInt64>? = nil, _ handler: @Sendable (DeadLetter<Job>) async throws -> Void
    ) async -> DeadLetterReplay {
        var report = DeadLetterReplay()
        let records: [DeadLetterRecord]
        do {
            records = try await store.records().filter { ids?.contains($0.id) ?? true }
        } catch {
            for id in ids ?? [] { report.failed[id] = String(describing: error) }
            return report
        }
        for record in records {
            do {
                try await handler(try Self.decode(record))
                try await store.remove(ids: [record.id])
                report.replayed.append(record.id)
            } catch {
                report.failed[record.id] = String(describing: error)
            }
        }
        return report
    }

    /// Removes the letters with these ids.
    public func purge(ids: [UInt64]) async throws {
        try await store.remove(ids: ids)
    }

    /// Removes every letter.
    public func purgeAll() async throws {
        try await store.remove(ids: try await store.records().map(\.id))
    }

    private static func decode(_ record: DeadLetterRecord) throws -> DeadLetter<Job> {
        DeadLetter(
            id: record.id, job: try JSONDecoder().decode(Job.self, from: Data(record.payload.utf8)), error: record.error,
            attempts: record.attempts, priority: Priority(rawValue: record.priority), partitionKey: record.partitionKey,
            submittedAt: record.submittedAt, failedAt: record.failedAt
        )
    }
}
