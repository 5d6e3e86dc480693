import BulwarkCore

/// Records the order in which things happen, from any task.
final class Journal<Entry: Sendable>: Sendable {
    private let entries = LockedValue<[Entry]>([])
    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
}
