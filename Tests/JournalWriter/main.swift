// The child process of the journal's crash tests, in one of three modes:
//
//     bulwark-journal-writer <path> <run> <always|every|never>
//         appends records as fast as it can (removing every third) and prints each acknowledged
//         add as `<id> <index>`, until it is killed.
//     bulwark-journal-writer <path> <run> compact
//         loops: append six records, remove four of them (the newest always) and the oldest held
//         beyond 120, compact; prints every step before and after it (below), until it is killed.
//     bulwark-journal-writer <path> <bytes> file-size-limit
//         opens the journal, limits the size of any file it writes to <bytes> (RLIMIT_FSIZE), and
//         compacts once; prints `compacted`, or `error: <description>` and exits 1.
//
// The `compact` mode's lines, each written with one write(2) to stdout (a pipe: never torn):
//
//     add <run> <index>          an add is about to start
//     added <id> <run> <index>   it returned: acknowledged
//     remove <id> <id> ...       a removal is about to start
//     removed                    it returned
//     compact                    a compaction is about to start
//     compacted                  it returned
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

func record(run: Int, index: Int) -> DeadLetterRecord {
    DeadLetterRecord(
        id: 0, payload: payload(run: run, index: index), error: "run \(run) index \(index)", attempts: index % 5 + 1,
        priority: 0, partitionKey: "run-\(run)", submittedAt: Int64(index), failedAt: Int64(index)
    )
}

func say(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let run = Int(arguments[2]) else {
    say("usage: bulwark-journal-writer <path> <run> <always|every|never|compact>")
    say("       bulwark-journal-writer <path> <bytes> file-size-limit")
    exit(2)
}

switch arguments[3] {
case "file-size-limit":
    let store = try JournalDeadLetterStore(path: arguments[1], sync: .never)
    // A handled SIGXFSZ makes a write past the limit fail with EFBIG instead of killing us.
    signal(SIGXFSZ) { _ in }
    var limit = rlimit(rlim_cur: rlim_t(run), rlim_max: rlim_t(run))
    #if os(Linux)
    let resource = Int32(RLIMIT_FSIZE.rawValue)
    #else
    let resource = RLIMIT_FSIZE
    #endif
    guard setrlimit(resource, &limit) == 0 else {
        say("error: setrlimit failed")
        exit(1)
    }
    do {
        try store.compact()
        say("compacted")
    } catch {
        say("error: \(error)")
        exit(1)
    }

case "compact":
    let store = try JournalDeadLetterStore(path: arguments[1], sync: .never)
    var held = try await store.records().map(\.id)
    var index = 0
    while true {
        var added: [UInt64] = []
        for _ in 0 ..< 6 {
            say("add \(run) \(index)")
            let id = try await store.add(record(run: run, index: index))
            say("added \(id) \(run) \(index)")
            added.append(id)
            index += 1
        }
        // Keep the first and the fourth; remove the rest, so the newest id is always removed.
        held += [added[0], added[3]]
        var removing = [added[1], added[2], added[4], added[5]]
        if held.count > 120 {
            removing += held.prefix(held.count - 120)
            held.removeFirst(held.count - 120)
        }
        say("remove " + removing.map { String($0) }.joined(separator: " "))
        try await store.remove(ids: removing)
        say("removed")
        say("compact")
        try store.compact()
        say("compacted")
    }

default:
    let sync: JournalDeadLetterStore.SyncPolicy = switch arguments[3] {
    case "always": .always
    case "every": .every(appends: 8)
    default: .never
    }
    let store = try JournalDeadLetterStore(path: arguments[1], sync: sync, compactAfter: 64)
    var index = 0
    while true {
        let id = try await store.add(record(run: run, index: index))
        // Remove every third record so compaction runs mid-test too.
        if index % 3 == 2 { try await store.remove(ids: [id]) }
        say("\(id) \(index)")
        index += 1
    }
}
