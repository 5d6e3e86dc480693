// What the scenarios share: a thread-safe log of results, formatting, and the loop that moves the
// virtual clock once the simulation is quiet.
import BulwarkTestKit
import BulwarkSimulations

/// Results appended from any task.
final class Log<Entry: Sendable>: Sendable {
    private let entries = LockedValue<[Entry]>([])
    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
    var count: Int { entries.withLock { $0.count } }
}

let second: Int64 = 1_000_000_000

/// `12.5 s`.
func seconds(_ nanoseconds: Int64) -> String {
    let tenths = (nanoseconds + 50_000_000) / 100_000_000
    return "\(tenths / 10).\(tenths % 10) s"
}

/// The `p`-th percentile of sorted values (nearest rank).
func percentile(_ p: Int, of sorted: [Int64]) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, (sorted.count * p + 99) / 100 - 1)]
}

/// `value`, right-aligned in `width` columns.
func padded(_ value: Any, _ width: Int) -> String {
    let text = "\(value)"
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

/// `m:ss` for a reading in nanoseconds.
func clockTime(_ nanoseconds: Int64) -> String {
    let total = nanoseconds / second
    return "\(total / 60):\(total % 60 < 10 ? "0" : "")\(total % 60)"
}

/// Moves `clock` forward in `step`s, letting the simulation settle before and after each, until
/// `done()` holds.
func drive(_ clock: ManualClock, step: Duration, until done: () -> Bool, quiet: () -> Bool) async {
    while !done() {
        await settle(quiet)
        clock.advance(by: step)
        await settle(quiet)
    }
}

/// `value`, left-aligned in `width` columns.
func leftAligned(_ value: Any, _ width: Int) -> String {
    let text = "\(value)"
    return text + String(repeating: " ", count: max(0, width - text.count))
}
