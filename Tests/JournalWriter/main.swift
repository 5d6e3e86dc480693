// The child process of the journal's crash test: appends records to a journal as fast as it can
// and prints each acknowledged id on its own line, until it is killed.
//
//     bulwark-journal-writer <path> <run> <always|every|never>
import BulwarkQueues

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The payload of the `index`th record of `run`: long enough to span pages, and checkable.
func payload(run: Int, index: Int) -> String {
    let filler = String(repeating: String(run * 7_919 + index, radix: 36), count: 300)
    return "{\"run\":\(run),\"index\":\(index),\"filler\":\"\(filler)\"}"
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let run = Int(arguments[2]) else {
    print("usage: bulwark-journal-writer <path> <run> <always|every|never>")
    exit(2)
}
let sync: JournalDeadLetterStore.SyncPolicy = switch arguments[3] {
case "always": .always
case "every": .every(appends: 8)
default: .never
}
let store = try JournalDeadLetterStore(path: arguments[1], sync: sync, compactAfter: 64)
var index = 0
while true {
    let record = DeadLetterRecord(
        id: 0, payload: payload(run: run, index: index), error: "run \(run) index \(index)", attempts: index % 5 + 1,
        priority: 0, partitionKey: "run-\(run)", submittedAt: Int64(index), failedAt: Int64(index)
    )
    let id = try await store.add(record)
    // Remove every third record so compaction runs mid-test too.
    if index % 3 == 2 { try await store.remove(ids: [id]) }
    let line = Array("\(id) \(index)\n".utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    index += 1
}
