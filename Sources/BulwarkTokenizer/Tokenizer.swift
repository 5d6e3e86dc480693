import Foundation

/// A byte-pair-encoding tokenizer for OpenAI's `cl100k_base` and `o200k_base` encodings, reading
/// the standard `.tiktoken` rank files and giving the tokens Python's `tiktoken` gives
/// (`Encoding.encode_ordinary`): the same pre-tokenization pattern, the same merge order.
///
///     let tokenizer = try Tokenizer(.o200kBase, ranksFile: "/etc/bulwark/o200k_base.tiktoken")
///     tokenizer.count("Hello, world!")   // 4
///
/// The text is cut into pieces by the encoding's pattern; a piece that is a
/// token is that token, any other is merged from its bytes, always merging the adjacent pair of
/// lowest rank first (the leftmost on a tie), as tiktoken's `byte_pair_encode` does. Special
/// tokens (`<|endoftext|>`) are ordinary text here, as in `encode_ordinary`.
public struct Tokenizer: Sendable {
    /// The encodings this tokenizer knows: their pattern, and the name of their rank file.
    public enum Encoding: String, Sendable, CaseIterable, Codable {
        /// GPT-4, GPT-3.5 Turbo and the `text-embedding-3` / `ada-002` embedding models.
        case cl100kBase = "cl100k_base"
        /// GPT-4o, GPT-4.1, GPT-5 and the o-series reasoning models.
        case o200kBase = "o200k_base"

        /// The rank file's usual name: `cl100k_base.tiktoken`, `o200k_base.tiktoken`.
        public var fileName: String { rawValue + ".tiktoken" }

        var pattern: PreTokenizer.Pattern { self == .cl100kBase ? .cl100k : .o200k }
    }

    /// The encoding.
    public let encoding: Encoding
    private let ranks: RankTable
    private let splitter: PreTokenizer

    /// A tokenizer for `encoding` from the contents of its `.tiktoken` rank file.
    ///
    /// - Throws: ``TokenizerError/malformedRanks(file:line:rule:)`` naming the line at fault.
    public init(_ encoding: Encoding, ranks: [UInt8]) throws(TokenizerError) {
        self.encoding = encoding
        self.ranks = try RankTable(tiktoken: ranks, name: encoding.fileName)
        self.splitter = PreTokenizer(pattern: encoding.pattern)
    }

    /// A tokenizer for `encoding` from the rank file at `ranksFile`.
    ///
    /// - Throws: ``TokenizerError/missingRanks(path:)`` when the file cannot be read, or
    ///   ``TokenizerError/malformedRanks(file:line:rule:)``.
    public init(_ encoding: Encoding, ranksFile: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: ranksFile) else { throw .missingRanks(path: ranksFile) }
        try self.init(encoding, ranks: [UInt8](data))
    }

    /// How many tokens the vocabulary has (its largest rank plus one).
    public var vocabularySize: Int { ranks.count }

    /// The tokens of `text`.
    public func encode(_ text: String) -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.utf8.count / 3)
        walk(text) { tokens.append($0) }
        return tokens
    }

    /// How many tokens `text` has: `encode(text).count`, without building the array.
    public func count(_ text: String) -> Int {
        var count = 0
        walk(text) { _ in count += 1 }
        return count
    }

    /// The bytes of `tokens`, one after another (UTF-8 when they came from a whole text); a
    /// token the vocabulary does not have gives no bytes.
    public func decode(_ tokens: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        for token in tokens { bytes.append(contentsOf: ranks.bytes(of: token)) }
        return bytes
    }

    /// Calls `emit` with each token of `text`, in order.
    private func walk(_ text: String, _ emit: (Int) -> Void) {
        var copy = text
        copy.withUTF8 { utf8 in
            splitter.forEachPiece(Scalars(utf8)) { range in
                let piece = UnsafeBufferPointer(rebasing: utf8[range])
                if let rank = ranks.rank(of: piece) {
                    emit(rank)
                } else {
                    merge(piece, emit)
                }
            }
        }
    }

    /// tiktoken's `byte_pair_merge`: starts from single bytes and repeatedly merges the adjacent
    /// pair whose joined bytes have the lowest rank (the leftmost on a tie) until no pair is a
    /// token; then emits each part's rank.
    ///
    /// tiktoken scans every pair for the lowest at each merge, O(n²) in the piece's length (long
    /// white-space runs, text without spaces); here the pairs wait in a min-heap keyed by (rank,
    /// start), which pops the same pair in O(log n). The parts are a linked list over their start
    /// offsets: `next[i]` is the start of the part after the one starting at `i`, `pair[i]` the
    /// rank of the two joined. A heap entry whose pair has changed since it was pushed (its part
    /// was merged away, or its rank is not the pair's now) is skipped when popped.
    private func merge(_ piece: UnsafeBufferPointer<UInt8>, _ emit: (Int) -> Void) {
        let count = piece.count
        let none = Int.max
        let base = piece.baseAddress.unsafelyUnwrapped
        func rank(_ from: Int, _ to: Int) -> Int {
            ranks.rank(of: UnsafeBufferPointer(start: base + from, count: to - from)) ?? none
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 6 * count + 2) { buffer in
            let next = buffer.baseAddress.unsafelyUnwrapped
            let previous = next + (count + 1)
            let pair = previous + (count + 1)
            let heap = pair + (count + 1)
            var size = 0
            func push(_ rank: Int, _ start: Int) {
                // A key orders by rank, then by start: ranks are below 2^31, starts below 2^32.
                var child = size
                let key = rank << 32 | start
                size += 1
                while child > 0 {
                    let parent = (child - 1) >> 1
                    if heap[parent] <= key { break }
                    heap[child] = heap[parent]
                    child = parent
                }
                heap[child] = key
            }
            func pop() -> Int {
                let top = heap[0]
                size -= 1
                let last = heap[size]
                var parent = 0
                while true {
                    var child = 2 * parent + 1
                    if child >= size { break }
                    if child + 1 < size, heap[child + 1] < heap[child] { child += 1 }
                    if last <= heap[child] { break }
                    heap[parent] = heap[child]
                    parent = child
                }
                heap[parent] = last
                return top
            }
            for start in 0 ..< count {
                next[start] = start + 1
                previous[start] = start - 1
                pair[start] = start + 2 <= count ? rank(start, start + 2) : none
                if pair[start] != none { push(pair[start], start) }
            }
            while size > 0 {
                let key = pop()
                let start = key & 0xFFFF_FFFF
                guard pair[start] == key >> 32 else { continue }
                // The part after `start` joins it.
                let gone = next[start]
                next[start] = next[gone]
                pair[gone] = none
                if next[start] < count { previous[next[start]] = start }
                pair[start] = next[start] < count ? rank(start, next[next[start]]) : none
                if pair[start] != none { push(pair[start], start) }
                let before = previous[start]
                if before >= 0 {
                    pair[before] = rank(before, next[start])
                    if pair[before] != none { push(pair[before], before) }
                }
            }
            // Every part is a token: single bytes all are, and every merge made one.
            var start = 0
            while start < count {
                emit(rank(start, next[start]))
                start = next[start]
            }
        }
    }
}

/// Why a tokenizer could not be made.
public enum TokenizerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rank file could not be read.
    case missingRanks(path: String)
    /// The rank file is not in the `.tiktoken` format: which line, and the rule it breaks.
    case malformedRanks(file: String, line: Int, rule: String)

    /// The error in a sentence.
    public var description: String {
        switch self {
        case .missingRanks(let path): "no rank file at \(path)"
        case .malformedRanks(let file, let line, let rule): "\(file), line \(line): \(rule)"
        }
    }
}
