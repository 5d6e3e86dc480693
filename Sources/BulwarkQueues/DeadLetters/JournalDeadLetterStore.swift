import BulwarkCore

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

/// A durable ``DeadLetterStore``: an append-only journal file, one checksummed record per line.
///
/// **Format.** Each line is `cccccccc {json}\n`: the CRC-32C of the JSON text in eight hex
/// digits, a space, then one of `{"add":{record}}`, `{"remove":[ids]}` or `{"highWater":n}` (the
/// largest id ever issued, written as the first line of a compacted journal). Lines are only ever
/// appended, each with one `write(2)` of the whole line, continued after a short write and retried
/// on `EINTR`; a failed append is cut back off the file, so the journal always ends on a line
/// boundary. A journal written before `highWater` existed opens unchanged (it has no such line),
/// and an older reader skips the line as an entry that adds and removes nothing.
///
/// **Ids.** A new id is one above the largest id the journal records, in an `add` or a
/// `highWater` line, so no id is ever issued twice, even once compaction has dropped the records
/// that carried the largest ones.
///
/// **Recovery.** Opening first settles an interrupted compaction (below), then replays the
/// journal. A last line without its newline is a torn write from a crash: it is reported in
/// ``recovery``, cut off the file and never read. A complete line whose checksum or JSON does not
/// match is damage: it is counted and skipped, never misread (a skipped `remove` brings its
/// records back: nothing is lost, something may be replayed twice).
///
/// **Durability** (``SyncPolicy``). An `add` is acknowledged when it returns. Its line is then in
/// the operating system's page cache, so a crash of the *process* (even `SIGKILL`) loses no
/// acknowledged record under any policy; that is what the crash test checks, repeatedly. A crash
/// of the *machine* loses what was not yet `fsync`ed: nothing with ``SyncPolicy/always``, up to
/// `n − 1` acknowledged records with ``SyncPolicy/every(appends:)``, whatever the kernel had not
/// written back with ``SyncPolicy/never``.
///
/// **Compaction.** Once the lines that no longer describe a held record (removals, and the adds
/// they cancel) number at least `compactAfter` and outnumber the held records, the journal is
/// rewritten (``compact()`` does it on demand): a `highWater` line and one `add` per held record,
/// oldest first, are written to `<path>.compacting` (created or truncated), which is `fsync`ed and
/// renamed over the journal (atomic), and the directory is `fsync`ed; appends continue on the
/// renamed file. A failure before the rename removes `<path>.compacting` and leaves the journal as
/// it was. A crash at any point leaves the old journal or the new one, whole: while
/// `<path>.compacting` exists the rename has not happened, so opening removes it when the journal
/// exists, and renames it into place (keeping every line it holds) only when the journal does not.
///
/// File I/O (and `fsync`) runs on the calling task's thread, under the store's lock.
///
///     let store = try JournalDeadLetterStore(path: "/var/lib/app/dead-letters.journal", sync: .always)
///     let deadLetters = DeadLetterQueue<Request>(store: store)
public final class JournalDeadLetterStore: DeadLetterStore {
    /// When appended lines are forced to the disk with `fsync(2)`.
    public enum SyncPolicy: Sendable, Hashable {
        /// After every append, before it is acknowledged.
        case always
        /// After every `n`th append.
        case every(appends: Int)
        /// Never: the operating system writes the page cache back when it chooses.
        case never
    }

    /// What opening the journal found.
    public struct Recovery: Sendable, Hashable {
        /// The records held after replaying it.
        public var records: Int
        /// Bytes of a torn last line, cut off.
        public var tornBytes: Int
        /// Complete lines skipped because their checksum or JSON did not match.
        public var damagedLines: Int
        /// What was done with a `<path>.compacting` file left by a compaction that did not finish.
        public var leftoverCompaction: LeftoverCompaction

        /// Creates a recovery report.
        public init(records: Int, tornBytes: Int, damagedLines: Int, leftoverCompaction: LeftoverCompaction = .none) {
            self.records = records
            self.tornBytes = tornBytes
            self.damagedLines = damagedLines
            self.leftoverCompaction = leftoverCompaction
        }
    }

    /// What opening did with the file of a compaction interrupted by a crash.
    public enum LeftoverCompaction: Sendable, Hashable {
        /// There was none.
        case none
        /// It was removed: the journal existed, so the compaction's rename had not happened and
        /// the journal was whole.
        case removed
        /// It became the journal, which did not exist (lost with its directory entry, or deleted):
        /// every complete line it held is kept.
        case adopted
    }

    /// An entry of the journal: one line.
    struct Entry: Codable {
        var add: DeadLetterRecord?
        var remove: [UInt64]?
        /// The largest id ever issued (0: none yet).
        var highWater: UInt64?
    }

    struct State {
        var descriptor: Int32
        /// Where the journal ends (the next line's offset).
        var size: Int
        var records: [UInt64: DeadLetterRecord] = [:]
        var next: UInt64 = 1
        var unsynced = 0
        /// Lines that no longer describe a held record.
        var deadLines = 0
    }

    /// The journal's path.
    public let path: String
    /// When appends are forced to the disk.
    public let sync: SyncPolicy
    /// The dead lines that trigger a compaction (see the type's documentation).
    public let compactAfter: Int
    /// What opening the journal found.
    public let recovery: Recovery
    private let state: LockedValue<State>

    /// Opens the journal at `path` (creating it if needed) and replays it.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for `every(appends:)` below 1
    ///   or a `compactAfter` below 1; ``JournalError`` when the file cannot be opened, read or
    ///   repaired (including a leftover `<path>.compacting` that cannot be removed or renamed).
    public init(path: String, sync: SyncPolicy = .always, compactAfter: Int = 1_024) throws {
        if case .every(let appends) = sync, appends < 1 {
            throw BulwarkError.invalidConfiguration(field: "sync.every(appends:)", rule: "must be at least 1 (got \(appends))")
        }
        guard compactAfter >= 1 else {
            throw BulwarkError.invalidConfiguration(field: "compactAfter", rule: "must be at least 1 (got \(compactAfter))")
        }
        self.path = path
        self.sync = sync
        self.compactAfter = compactAfter
        var recovery = Recovery(records: 0, tornBytes: 0, damagedLines: 0)
        recovery.leftoverCompaction = try Self.settleCompaction(of: path)
        let existing = try Self.readAll(path)
        let bytes = existing ?? []
        var state = State(descriptor: -1, size: 0)
        var start = 0
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if let entry = Self.decode(bytes[start ..< newline]) {
                Self.apply(entry, to: &state)
            } else {
                recovery.damagedLines += 1
            }
            start = newline + 1
        }
        recovery.tornBytes = bytes.count - start
        recovery.records = state.records.count
        state.size = start
        state.descriptor = try Self.openForAppending(path)
        if existing == nil { Self.syncDirectory(of: path) }  // make the new file's name durable
        if recovery.tornBytes > 0, ftruncate(state.descriptor, off_t(start)) != 0 {
            let error = JournalError(operation: "ftruncate", path: path, errno: errno)
            close(state.descriptor)
            throw error
        }
        self.recovery = recovery
        self.state = LockedValue(state)
    }

    deinit {
        _ = state.withLock { close($0.descriptor) }
    }

    /// Appends the record with the next id; returns once the line is written (and `fsync`ed, as
    /// ``sync`` says).
    public func add(_ record: DeadLetterRecord) async throws -> UInt64 {
        try state.withLock { state in
            // Only a damaged or forged journal gets here (2^64 − 1 letters is out of reach).
            guard state.next < UInt64.max else {
                throw BulwarkError.invalidArgument(field: "id", rule: "the journal has issued every id up to \(UInt64.max - 1)")
            }
            var record = record
            record.id = state.next
            try append(Entry(add: record), to: &state)
            state.records[record.id] = record
            state.next += 1
            return record.id
        }
    }

    /// Appends a removal of the ids held (none: nothing is written), compacting when due.
    public func remove(ids: [UInt64]) async throws {
        try state.withLock { state in
            let held = ids.filter { state.records[$0] != nil }
            guard !held.isEmpty else { return }
            try append(Entry(remove: held), to: &state)
            for id in held { state.records.removeValue(forKey: id) }
            state.deadLines += held.count + 1
            if state.deadLines >= compactAfter, state.deadLines > state.records.count {
                try compact(&state)
            }
        }
    }

    /// Every record held, oldest first.
    public func records() async throws -> [DeadLetterRecord] {
        state.withLock { $0.records.values.sorted { $0.id < $1.id } }
    }

    /// Rewrites the journal with only the records held.
    public func compact() throws {
        try state.withLock { try compact(&$0) }
    }

    // MARK: - Lines

    /// `cccccccc {json}\n`.
    static func line(_ entry: Entry) throws -> [UInt8] {
        let json = Array(try JSONEncoder().encode(entry))
        var line = Array(String(CRC32C.checksum(json), radix: 16).leftPadded(to: 8).utf8)
        line.append(UInt8(ascii: " "))
        line += json
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// The entry of a line (without its newline), or `nil` when it is damaged.
    static func decode(_ line: ArraySlice<UInt8>) -> Entry? {
        guard line.count > 9, line[line.startIndex + 8] == UInt8(ascii: " "),
            let stored = UInt32(String(decoding: line.prefix(8), as: UTF8.self), radix: 16)
        else { return nil }
        let json = line.dropFirst(9)
        guard CRC32C.checksum(json) == stored else { return nil }
        return try? JSONDecoder().decode(Entry.self, from: Data(json))
    }

    static func apply(_ entry: Entry, to state: inout State) {
        if let highWater = entry.highWater, highWater < UInt64.max {
            state.next = max(state.next, highWater + 1)
        }
        if let record = entry.add {
            state.records[record.id] = record
            state.next = max(state.next, record.id == .max ? .max : record.id + 1)
        }
        for id in entry.remove ?? [] where state.records.removeValue(forKey: id) != nil {
            state.deadLines += 1
        }
        if entry.remove != nil { state.deadLines += 1 }
    }

    // MARK: - Files

    private func append(_ entry: Entry, to state: inout State) throws {
        let bytes = try Self.line(entry)
        do {
            try Self.writeAll(bytes, to: state.descriptor, path: path)
        } catch {
            _ = ftruncate(state.descriptor, off_t(state.size))  // keep the journal on a line boundary
            throw error
        }
        state.size += bytes.count
        state.unsynced += 1
        let due = switch sync {
        case .always: true
        case .every(let appends): state.unsynced >= appends
        case .never: false
        }
        if due {
            guard fsync(state.descriptor) == 0 else { throw JournalError(operation: "fsync", path: path, errno: errno) }
            state.unsynced = 0
        }
    }

    private func compact(_ state: inout State) throws {
        let temporary = Self.compactionPath(of: path)
        var bytes = try Self.line(Entry(highWater: state.next - 1))
        for record in state.records.values.sorted(by: { $0.id < $1.id }) {
            bytes += try Self.line(Entry(add: record))
        }
        // O_APPEND: after the rename this descriptor is the journal's, ready for appends.
        let descriptor = open(temporary, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalError(operation: "open", path: temporary, errno: errno) }
        do {
            try Self.writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw JournalError(operation: "fsync", path: temporary, errno: errno) }
            guard rename(temporary, path) == 0 else { throw JournalError(operation: "rename", path: temporary, errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        Self.syncDirectory(of: path)
        close(state.descriptor)
        state.descriptor = descriptor
        state.size = bytes.count
        state.deadLines = 0
        state.unsynced = 0
    }

    /// The file a compaction writes before renaming it over the journal.
    static func compactionPath(of path: String) -> String { path + ".compacting" }

    /// Settles a compaction a crash interrupted. Its file exists only before its rename, so the
    /// journal, if it exists, is whole and the file is removed; if the journal does not exist the
    /// file becomes it (nothing it holds is dropped).
    private static func settleCompaction(of path: String) throws -> LeftoverCompaction {
        let temporary = compactionPath(of: path)
        guard exists(temporary) else { return .none }
        if exists(path) {
            guard unlink(temporary) == 0 || errno == ENOENT else {
                throw JournalError(operation: "unlink", path: temporary, errno: errno)
            }
            return .removed
        }
        guard rename(temporary, path) == 0 else { throw JournalError(operation: "rename", path: temporary, errno: errno) }
        syncDirectory(of: path)
        return .adopted
    }

    /// Whether `path` names a file (false also when it cannot be looked up: opening it reports why).
    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Writes all of `bytes` to `descriptor`: continues after a short write, retries on `EINTR`,
    /// and throws a ``JournalError`` carrying the failing call's own `errno` (`EIO` for a write
    /// that returns 0, making no progress). `system` is `write(2)`; tests pass a stand-in.
    package static func writeAll(
        _ bytes: [UInt8], to descriptor: Int32, path: String,
        system: (Int32, UnsafeRawBufferPointer) -> Int = { write($0, $1.baseAddress, $1.count) }
    ) throws {
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { system(descriptor, $0) }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                throw JournalError(operation: "write", path: path, errno: code)
            }
            if result == 0 { throw JournalError(operation: "write", path: path, errno: EIO) }
            written += result
        }
    }

    private static func openForAppending(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalError(operation: "open", path: path, errno: errno) }
        return descriptor
    }

    /// The file's bytes, or `nil` when it does not exist.
    private static func readAll(_ path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw JournalError(operation: "open", path: path, errno: errno)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw JournalError(operation: "read", path: path, errno: errno) }
            if count == 0 { return bytes }
            bytes += buffer[0 ..< count]
        }
    }

    /// Makes a rename in the journal's directory durable.
    private static func syncDirectory(of path: String) {
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        let descriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}

/// A journal file could not be opened, read, written or synced.
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The system call that failed.
    public var operation: String
    /// The file it was called on.
    public var path: String
    /// The `errno` it set.
    public var errno: Int32

    /// A sentence naming the call, the file and the system's reason.
    public var description: String {
        "\(operation)(\(path)) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
