import Bulwark
import BulwarkCore
import BulwarkQueues
import BulwarkTestSupport
import Foundation
import Testing

/// A dead-letter record for these tests: `index` in its error, a payload of about `size` bytes.
private func letter(_ index: Int, size: Int = 0) -> DeadLetterRecord {
    DeadLetterRecord(
        id: 0, payload: "{\"name\":\"job \(index)\",\"filler\":\"\(String(repeating: "x", count: size))\"}",
        error: "index \(index)", attempts: 1, priority: 0, partitionKey: nil, submittedAt: 0, failedAt: 0
    )
}

/// CRC-32C, written again here so the tests build journal lines without the store's code.
private func crc32c(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}

/// A journal line as the store writes it: the JSON's CRC-32C in eight hex digits, a space, the JSON.
private func journalLine(_ json: String) -> String {
    let hex = String(crc32c(Array(json.utf8)), radix: 16)
    return String(repeating: "0", count: 8 - hex.count) + hex + " " + json + "\n"
}

@Suite("Journal compaction")
struct JournalCompactionTests {
    @Test("compact, reopen, append: new ids are above every id ever issued", arguments: [false, true])
    func idsSurviveCompaction(removeAll: Bool) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        var issued: [UInt64] = []
        do {
            let store = try JournalDeadLetterStore(path: path, sync: .never)
            for index in 0 ..< 5 { issued.append(try await store.add(letter(index))) }
            // The newest ids are acknowledged (removed): only the high-water mark remembers them.
            try await store.remove(ids: removeAll ? issued : [issued[3], issued[4]])
            try store.compact()
        }
        let reopened = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(try await reopened.records().map(\.id) == (removeAll ? [] : Array(issued[0 ..< 3])))
        let next = try await reopened.add(letter(5))
        #expect(next == issued.max()! + 1)
        issued.append(next)
        // Again, with nothing appended between the compaction and the reopening.
        try await reopened.remove(ids: [next])
        try reopened.compact()
        try reopened.compact()
        let again = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(again.recovery.damagedLines == 0)
        #expect(try await again.add(letter(6)) == issued.max()! + 1)
    }

    @Test("a journal written before the high-water record existed still opens, ids after its largest")
    func oldFormatOpens() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        func add(_ id: Int) -> String {
            journalLine(
                "{\"add\":{\"id\":\(id),\"payload\":\"{}\",\"error\":\"index \(id)\",\"attempts\":1,\"priority\":0,"
                    + "\"submittedAt\":0,\"failedAt\":0}}"
            )
        }
        try (add(1) + add(2) + add(3) + journalLine("{\"remove\":[2]}")).write(toFile: path, atomically: false, encoding: .utf8)
        let store = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(store.recovery == .init(records: 2, tornBytes: 0, damagedLines: 0))
        #expect(try await store.records().map(\.error) == ["index 1", "index 3"])
        #expect(try await store.add(letter(4)) == 4)
    }

    @Test("a compaction file left by a crash before its rename is removed on open; the journal is kept whole")
    func strayCompactionFileRemoved() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        let temporary = path + ".compacting"
        do {
            let store = try JournalDeadLetterStore(path: path, sync: .never)
            for index in 0 ..< 3 { _ = try await store.add(letter(index)) }
            try await store.remove(ids: [2])
        }
        // A compaction that died mid-write: a line and a half.
        try (journalLine("{\"highWater\":3}") + String(journalLine("{\"add\":{\"id\":1}}").prefix(12)))
            .write(toFile: temporary, atomically: false, encoding: .utf8)
        let store = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(store.recovery == .init(records: 2, tornBytes: 0, damagedLines: 0, leftoverCompaction: .removed))
        #expect(try await store.records().map(\.id) == [1, 3])
        #expect(try await store.add(letter(3)) == 4)
    }

    @Test("a compaction file whose journal is gone is adopted as the journal, never dropped")
    func orphanCompactionFileAdopted() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        let temporary = path + ".compacting"
        try (journalLine("{\"highWater\":7}")
            + journalLine("{\"add\":{\"id\":5,\"payload\":\"{}\",\"error\":\"index 5\",\"attempts\":1,\"priority\":0,\"submittedAt\":0,\"failedAt\":0}}"))
            .write(toFile: temporary, atomically: false, encoding: .utf8)
        let store = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(store.recovery == .init(records: 1, tornBytes: 0, damagedLines: 0, leftoverCompaction: .adopted))
        #expect(try await store.records().map(\.id) == [5])
        #expect(try await store.add(letter(8)) == 8)
    }

    @Test("a short write during compaction is retried; the failure names the real errno and leaves the journal whole")
    func shortWriteDuringCompaction() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        do {
            let store = try JournalDeadLetterStore(path: path, sync: .never)
            for index in 0 ..< 20 { _ = try await store.add(letter(index, size: 1_000)) }
            try await store.remove(ids: [1])
        }
        // The child may write files of at most 8,123 bytes: the compacted file (about 19 KB) is cut
        // short mid-line (write(2) returns less than asked), and the retry fails with EFBIG.
        let (text, reason, status) = try await offPool { () throws -> (String, Process.TerminationReason, Int32) in
            let process = Process()
            process.executableURL = journalWriter()
            process.arguments = [path, "8123", "file-size-limit"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (text, process.terminationReason, process.terminationStatus)
        }
        #expect(reason == .exit && status == 1, "\(text)")
        #expect(text.contains("write(\(path).compacting) failed"), "\(text)")
        #expect(text.contains("(errno \(EFBIG))"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: path + ".compacting"))
        let store = try JournalDeadLetterStore(path: path, sync: .never)
        #expect(store.recovery == .init(records: 19, tornBytes: 0, damagedLines: 0))
        #expect(try await store.records().map(\.id) == Array(2 ... 20))
        #expect(try await store.add(letter(20)) == 21)
    }
}

@Suite("Journal write loop")
struct JournalWriteLoopTests {
    /// A stand-in for `write(2)` that takes at most `chunk` bytes a call and fails with `EINTR`
    /// every third call, collecting what it was given.
    final class ShortWriter: @unchecked Sendable {
        var calls = 0
        var received: [UInt8] = []
        let chunk: Int
        let failure: (afterCalls: Int, errno: Int32)?

        init(chunk: Int, failure: (afterCalls: Int, errno: Int32)? = nil) {
            self.chunk = chunk
            self.failure = failure
        }

        func write(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer) -> Int {
            calls += 1
            if let failure, calls > failure.afterCalls {
                errno = failure.errno
                return -1
            }
            if calls % 3 == 0 {
                errno = EINTR
                return -1
            }
            let count = min(chunk, buffer.count)
            received += buffer.prefix(count)
            errno = 0  // a short write sets no errno: the loop must not report one from it
            return count
        }
    }

    @Test("short writes are continued and EINTR retried until every byte is written")
    func shortWritesAndInterrupts() throws {
        let bytes = (0 ..< 1_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let writer = ShortWriter(chunk: 37)
        try JournalDeadLetterStore.writeAll(bytes, to: 3, path: "journal", system: writer.write)
        #expect(writer.received == bytes)
        #expect(writer.calls > 1_000 / 37)
    }

    @Test("a failing write reports its own errno, after a short write too")
    func failureCarriesErrno() throws {
        let writer = ShortWriter(chunk: 100, failure: (afterCalls: 1, errno: ENOSPC))
        let failure = #expect(throws: JournalError.self) {
            try JournalDeadLetterStore.writeAll(Array(repeating: 1, count: 500), to: 3, path: "journal", system: writer.write)
        }
        #expect(failure?.operation == "write")
        #expect(failure?.path == "journal")
        #expect(failure?.errno == ENOSPC)
        #expect(writer.received.count == 100)
        let stuck = #expect(throws: JournalError.self) {
            try JournalDeadLetterStore.writeAll([1, 2, 3], to: 3, path: "journal") { _, _ in 0 }
        }
        #expect(stuck?.operation == "write")
        #expect(stuck?.path == "journal")
        #expect(stuck?.errno == EIO)
    }
}

@Suite("Journal compaction crash test", .timeLimit(minutes: 2))
struct JournalCompactionCrashTests {
    @Test("SIGKILL during compaction loops, 20 times over one journal: every held letter once, ids never reused, no stray file")
    func killDuringCompaction() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dlq").path
        let temporary = path + ".compacting"
        var held: [UInt64: (run: Int, index: Int)] = [:]
        var highest: UInt64 = 0
        var random = SplitMix64(seed: 18_10)
        var killedCompacting = 0
        var strayFiles = 0
        let kills = 20
        for run in 0 ..< kills {
            // Kill after a random number of lines; on even runs, at the first compaction after it,
            // and on every fourth run as soon as that compaction's file appears (bounded polling).
            // The blocking reads, the polling and the wait run off the concurrency pool.
            let target = Int(random.next() % 200) + 1
            let (buffer, reason, status) = try await offPool { () throws -> (Data, Process.TerminationReason, Int32) in
                let process = Process()
                process.executableURL = journalWriter()
                process.arguments = [path, String(run), "compact"]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let atCompaction = run % 2 == 0
                var buffer = Data()
                let handle = output.fileHandleForReading
                reading: while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    let lines = buffer.split(separator: UInt8(ascii: "\n"))
                    guard lines.count >= target else { continue }
                    if !atCompaction || lines[(target - 1)...].contains(where: { $0.elementsEqual("compact".utf8) }) { break reading }
                }
                if run % 4 == 2 {
                    var polls = 0
                    while polls < 100_000, !FileManager.default.fileExists(atPath: temporary) { polls += 1 }
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                buffer.append(handle.readDataToEndOfFile())
                return (buffer, process.terminationReason, process.terminationStatus)
            }
            #expect(reason == .uncaughtSignal && status == SIGKILL)

            // Replay what the writer said it did; at most one step was under way when it died.
            var addInFlight: (run: Int, index: Int)?
            var removalInFlight: [UInt64]?
            var compacting = false
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                switch fields.first {
                case "add": addInFlight = (Int(fields[1])!, Int(fields[2])!)
                case "added":
                    let id = UInt64(fields[1])!
                    #expect(id > highest, "id \(id) issued again in run \(run) (highest so far \(highest))")
                    highest = max(highest, id)
                    held[id] = (Int(fields[2])!, Int(fields[3])!)
                    addInFlight = nil
                case "remove": removalInFlight = fields.dropFirst().map { UInt64($0)! }
                case "removed":
                    for id in removalInFlight ?? [] { held.removeValue(forKey: id) }
                    removalInFlight = nil
                case "compact": compacting = true
                case "compacted": compacting = false
                default: Issue.record("unexpected line from the writer: \(line)")
                }
            }
            if compacting { killedCompacting += 1 }
            let stray = FileManager.default.fileExists(atPath: temporary)
            if stray { strayFiles += 1 }

            // Reopen: no stray file, every held letter exactly once, nothing acknowledged comes back.
            let store = try JournalDeadLetterStore(path: path, sync: .never)
            #expect(!FileManager.default.fileExists(atPath: temporary), "stray compaction file after run \(run)")
            #expect(store.recovery.damagedLines == 0)
            #expect(store.recovery.leftoverCompaction == (stray ? .removed : .none))
            let records = try await store.records()
            let ids = records.map(\.id)
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "ids not increasing after run \(run)")
            #expect(Set(records.map(\.error)).count == records.count, "a letter held twice after run \(run)")
            var found = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
            if let removal = removalInFlight {
                // One `remove` line: it landed whole or not at all.
                let present = removal.filter { found[$0] != nil }
                #expect(present.isEmpty || present.count == removal.count, "removal torn after run \(run)")
                if present.isEmpty { for id in removal { held.removeValue(forKey: id) } }
            }
            for (id, origin) in held {
                let removed = found.removeValue(forKey: id)
                let record = try #require(removed, "held letter \(id) lost after run \(run)")
                #expect(record.error == "run \(origin.run) index \(origin.index)")
                #expect(record.payload.hasPrefix("{\"run\":\(origin.run),\"index\":\(origin.index),"))
            }
            // Left over: at most the add under way when the writer died, above every id issued.
            #expect(found.count <= 1, "unknown letters after run \(run): \(found.keys.sorted())")
            if let (id, record) = found.first {
                let origin = try #require(addInFlight, "unknown letter \(id) after run \(run)")
                #expect(record.error == "run \(origin.run) index \(origin.index)")
                #expect(id > highest)
                held[id] = origin
                highest = id
            }
        }
        #expect(held.count > 20)
        #expect(killedCompacting > 0, "no kill landed inside a compaction")
        print("journal compaction crash test: \(kills) kills, \(killedCompacting) inside a compaction, \(strayFiles) stray files removed on open, \(highest) ids issued, \(held.count) held")
    }
}
