import Bulwark
import BulwarkTestSupport
import Foundation
import Testing

struct Job: Codable, Sendable, Equatable {
    var name: String
}

struct Failure: Error, CustomStringConvertible {
    var description: String
}

/// A fresh directory for one test's files.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("Dead-letter queue")
struct DeadLetterQueueTests {
    @Test("add, inspect, replay (failures stay) and purge, on both stores", arguments: ["memory", "journal"])
    func lifecycle(storeKind: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store: any DeadLetterStore = storeKind == "memory"
            ? InMemoryDeadLetterStore() : try JournalDeadLetterStore(path: directory.appendingPathComponent("dlq").path)
        let queue = DeadLetterQueue<Job>(store: store, wallClock: { 42 })
        let a = try await queue.add(Job(name: "a"), error: Failure(description: "boom"), attempts: 3, priority: .high, partitionKey: "t1")
        let b = try await queue.add(Job(name: "b"), error: Failure(description: "bang"), attempts: 1, submittedAt: 7)
        let letters = try await queue.letters()
        #expect(letters.map(\.job.name) == ["a", "b"] && letters.map(\.id) == [a, b])
        #expect(letters[0].error == "boom" && letters[0].attempts == 3 && letters[0].priority == .high && letters[0].partitionKey == "t1")
        #expect(letters[1].submittedAt == 7 && letters[1].failedAt == 42)
        let report = await queue.replay { letter in
            if letter.job.name == "b" { throw Failure(description: "still down") }
        }
        #expect(report.replayed == [a] && report.failed == [b: "still down"])
        #expect(try await queue.letters().map(\.id) == [b])
        try await queue.purgeAll()
        #expect(try await queue.count() == 0)
    }

    @Test("the journal survives reopening, detects a torn last line and damaged lines, and compacts")
    func journalRecovery() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        do {
            let store = try JournalDeadLetterStore(path: path, sync: .always, compactAfter: 4)
            for index in 0 ..< 10 {
                _ = try await store.add(record(index))
            }
            try await store.remove(ids: [1, 2, 3])
            #expect(store.recovery == .init(records: 0, tornBytes: 0, damagedLines: 0))
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // 10 adds + 1 remove: 11 lines; 4 dead lines are fewer than the 7 held: not compacted yet.
        #expect(text.split(separator: "\n").count == 11)
        // Damage a complete line in the middle (its checksum no longer matches) and tear the end.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[4] = lines[4].replacingOccurrences(of: "index 4", with: "index X")
        let torn = String(lines[9].prefix(40))
        let damaged = lines.joined(separator: "\n") + torn
        try damaged.write(toFile: path, atomically: false, encoding: .utf8)
        let reopened = try JournalDeadLetterStore(path: path, sync: .never, compactAfter: 4)
        #expect(reopened.recovery == .init(records: 6, tornBytes: 40, damagedLines: 1))
        #expect(try await reopened.records().map(\.id) == [4, 6, 7, 8, 9, 10])
        #expect(try await reopened.records().first?.error == "index 3")
        // Appends continue after the cut, with ids after the largest seen.
        #expect(try await reopened.add(record(10)) == 11)
        // Removing most of it compacts: the high-water mark, then only held records remain in the file.
        try await reopened.remove(ids: [4, 6, 7, 8, 9])
        let compacted = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(compacted.count == 3 && compacted[0].hasSuffix(" {\"highWater\":11}"))
        let again = try JournalDeadLetterStore(path: path)
        #expect(try await again.records().map(\.id) == [10, 11] && again.recovery.damagedLines == 0)
    }

    @Test("bad settings name the field")
    func badSettings() throws {
        #expect(throws: BulwarkError.invalidConfiguration(field: "sync.every(appends:)", rule: "must be at least 1 (got 0)")) {
            try JournalDeadLetterStore(path: "/tmp/never", sync: .every(appends: 0))
        }
        // No leftover compaction and no journal to read (ENOENT reads as empty): creating the file fails.
        let missing = #expect(throws: JournalError.self) { try JournalDeadLetterStore(path: "/nonexistent-directory/dlq") }
        #expect(missing?.operation == "open")
        #expect(missing?.path == "/nonexistent-directory/dlq")
        #expect(missing?.errno == ENOENT)
    }

    func record(_ index: Int) -> DeadLetterRecord {
        DeadLetterRecord(
            id: 0, payload: "{\"name\":\"job \(index)\"}", error: "index \(index)", attempts: 1, priority: 0, partitionKey: nil,
            submittedAt: 0, failedAt: 0
        )
    }
}

/// The journal crash tests' child executable (`Tests/JournalWriter`), built beside this test binary.
func journalWriter() -> URL {
    builtExecutable("bulwark-journal-writer")
}

@Suite("Journal crash test")
struct JournalCrashTests {
    /// The writer executable, built beside this test binary.
    var writer: URL { journalWriter() }

    @Test("SIGKILL mid-write, 12 times over one journal: every acknowledged record is there, intact", arguments: ["always", "never"])
    func killRepeatedly(sync: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        var acknowledged: [UInt64: (run: Int, index: Int)] = [:]
        var removed: Set<UInt64> = []
        var random = SplitMix64(seed: sync == "always" ? 1 : 2)
        var tornTails = 0
        for run in 0 ..< 12 {
            // Let it acknowledge a random number of appends, then kill it without warning. The
            // blocking reads and the wait run off the concurrency pool.
            let target = Int(random.next() % 150) + 1
            let (buffer, reason) = try await offPool { [writer] () throws -> (Data, Process.TerminationReason) in
                let process = Process()
                process.executableURL = writer
                process.arguments = [path, String(run), sync]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                var seen = 0
                var buffer = Data()
                let handle = output.fileHandleForReading
                while seen < target {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    seen = buffer.filter { $0 == UInt8(ascii: "\n") }.count
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                buffer.append(handle.readDataToEndOfFile())
                return (buffer, process.terminationReason)
            }
            #expect(reason == .uncaughtSignal)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 2, let id = UInt64(fields[0]), let index = Int(fields[1]) else { continue }
                acknowledged[id] = (run, index)
                if index % 3 == 2 { removed.insert(id) }
            }
            // Reopen: every acknowledged, unremoved record is there and reads back exactly.
            let store = try JournalDeadLetterStore(path: path, sync: .never)
            #expect(store.recovery.damagedLines == 0)
            if store.recovery.tornBytes > 0 { tornTails += 1 }
            let records = Dictionary(uniqueKeysWithValues: try await store.records().map { ($0.id, $0) })
            for (id, origin) in acknowledged where !removed.contains(id) {
                let record = try #require(records[id], "acknowledged record \(id) lost after run \(run)")
                #expect(record.error == "run \(origin.run) index \(origin.index)")
                #expect(record.payload.hasPrefix("{\"run\":\(origin.run),\"index\":\(origin.index),"))
            }
            for record in records.values {
                #expect(record.partitionKey == "run-\(record.error.split(separator: " ")[1])")
            }
        }
        #expect(acknowledged.count > 12)
        print("journal crash test (\(sync)): 12 kills, \(acknowledged.count) acknowledged appends, \(tornTails) torn tails cut")
    }
}
