import BulwarkCore

/// The token counts of texts counted lately, by the whole text (exact: a lookup compares the
/// text, not only its hash), so that a text seen again costs a hash and a comparison rather than
/// a tokenization: a conversation sends its history again with every turn, and a system prompt
/// comes with every request.
///
/// Two generations, each holding at most `bytes` of text: a lookup tries the current one, then
/// the previous (moving a hit into the current); when the current is full it becomes the
/// previous and the older one is dropped. So a text used within the last `bytes` to `2 × bytes`
/// of new text stays, at a memory cost of at most twice `bytes` plus the dictionaries. Texts
/// under 64 bytes are counted directly, which is cheaper than the lock and the hash.
final class CountCache: Sendable {
    private struct Generations: Sendable {
        var current: [String: Int] = [:]
        var previous: [String: Int] = [:]
        var bytes = 0
    }

    /// The bytes of text one generation holds.
    let bytes: Int
    /// The shortest text kept.
    static let shortest = 64
    private let state = LockedValue(Generations())

    init(bytes: Int) {
        self.bytes = bytes
    }

    /// The count of `text`: kept, or `counting(text)` (outside the lock), then kept.
    func count(_ text: String, counting: (String) -> Int) -> Int {
        let size = text.utf8.count
        guard size >= Self.shortest, size <= bytes else { return counting(text) }
        let kept = state.withLock { state -> Int? in
            if let count = state.current[text] { return count }
            guard let count = state.previous[text] else { return nil }
            Self.keep(text, count, size, in: &state, limit: bytes)
            return count
        }
        if let kept { return kept }
        let count = counting(text)
        state.withLock { Self.keep(text, count, size, in: &$0, limit: bytes) }
        return count
    }

    private static func keep(_ text: String, _ count: Int, _ size: Int, in state: inout Generations, limit: Int) {
        if state.bytes + size > limit {
            state.previous = state.current
            state.current = [:]
            state.bytes = 0
        }
        state.current[text] = count
        state.bytes += size
    }
}
