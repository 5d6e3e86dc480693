/// The vocabulary of a byte-pair encoding: every token's bytes and its rank (its id, and the
/// order in which merges are made), read from a `.tiktoken` file, with an open-addressing hash
/// table from bytes to rank.
///
/// The bytes of all tokens sit in one buffer; the table holds, per slot, the index of a token, so
/// that a lookup hashes the bytes once and compares them in place, allocating nothing. The
/// buffers are written once, by the initializer, and only read after: the table is immutable, so
/// sharing it between threads is safe.
final class RankTable: @unchecked Sendable {
    /// All tokens' bytes, one after another, in rank order.
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// Where rank `r`'s bytes start in ``bytes`` (`starts[r + 1]` is where they end); a rank the
    /// file does not have is empty.
    private let starts: UnsafeMutableBufferPointer<Int32>
    /// The hash table: a rank plus one, 0 for an empty slot.
    private let slots: UnsafeMutableBufferPointer<Int32>
    private let mask: Int

    /// How many ranks the table covers (the largest plus one).
    let count: Int

    /// Reads the `.tiktoken` format: one token per line, its bytes in base 64, a space, its rank.
    ///
    /// - Throws: `TokenizerError.malformedRanks` naming the line and what is wrong with it.
    init(tiktoken text: [UInt8], name: String) throws(TokenizerError) {
        var entries: [(rank: Int, start: Int, count: Int)] = []
        var pool: [UInt8] = []
        pool.reserveCapacity(text.count)
        var line = 0
        var index = 0
        while index < text.count {
            line += 1
            var end = index
            while end < text.count, text[end] != 0x0A { end += 1 }
            defer { index = end + 1 }
            if end == index { continue }
            guard let space = text[index ..< end].firstIndex(of: 0x20),
                  let rank = Int(String(decoding: text[(space + 1) ..< end], as: UTF8.self)), rank >= 0, rank < Int(Int32.max)
            else {
                throw .malformedRanks(file: name, line: line, rule: "must be `<base64 bytes> <rank>`")
            }
            let start = pool.count
            guard Base64.decode(text[index ..< space], into: &pool), pool.count > start else {
                throw .malformedRanks(file: name, line: line, rule: "the token's bytes must be non-empty base 64")
            }
            entries.append((rank, start, pool.count - start))
        }
        guard let largest = entries.map(\.rank).max() else {
            throw .malformedRanks(file: name, line: 0, rule: "must hold at least one token")
        }
        // Lay the bytes out in rank order, so that ``starts`` alone finds a rank's bytes.
        var ordered = [(start: Int, count: Int)?](repeating: nil, count: largest + 1)
        for entry in entries {
            guard ordered[entry.rank] == nil else {
                throw .malformedRanks(file: name, line: 0, rule: "rank \(entry.rank) appears twice")
            }
            ordered[entry.rank] = (entry.start, entry.count)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pool.count)
        var starts: [Int32] = []
        starts.reserveCapacity(largest + 2)
        for slot in ordered {
            starts.append(Int32(bytes.count))
            if let slot { bytes.append(contentsOf: pool[slot.start ..< slot.start + slot.count]) }
        }
        starts.append(Int32(bytes.count))
        self.bytes = .allocate(capacity: max(1, bytes.count))
        _ = self.bytes.initialize(from: bytes)
        self.starts = .allocate(capacity: starts.count)
        _ = self.starts.initialize(from: starts)
        count = largest + 1

        var capacity = 1
        while capacity < entries.count * 2 { capacity <<= 1 }
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        for rank in 0 ... largest where starts[rank + 1] > starts[rank] {
            let token = UnsafeBufferPointer(rebasing: self.bytes[Int(starts[rank]) ..< Int(starts[rank + 1])])
            var slot = Self.hash(token) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(rank + 1)
        }
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
        slots.deallocate()
    }

    /// The rank of the token `token`, or `nil` when it is not one.
    @inline(__always)
    func rank(of token: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(token) & mask
        let all = bytes.baseAddress.unsafelyUnwrapped
        let probe = token.baseAddress.unsafelyUnwrapped
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            let start = Int(starts[entry - 1])
            if Int(starts[entry]) - start == token.count, equal(all + start, probe, token.count) { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// The bytes of `rank`, empty when the table has no such rank.
    func bytes(of rank: Int) -> [UInt8] {
        guard rank >= 0, rank < count else { return [] }
        return Array(bytes[Int(starts[rank]) ..< Int(starts[rank + 1])])
    }

    /// FNV-1a over the bytes, then a final mix so that the low bits depend on every byte.
    @inline(__always)
    private static func hash(_ token: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var index = 0
        while index < token.count {
            hash = (hash ^ UInt64(token[index])) &* 0x0000_0100_0000_01B3
            index += 1
        }
        hash ^= hash >> 29
        hash &*= 0xBF58_476D_1CE4_E5B9
        hash ^= hash >> 32
        return Int(truncatingIfNeeded: hash)
    }
}

/// Whether the `count` bytes at `a` and `b` are the same.
@inline(__always)
private func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var index = 0
    while index < count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}

/// Standard base 64 (RFC 4648, with padding), decoded without Foundation.
enum Base64 {
    /// Appends the bytes `text` encodes to `output`; false when it is not base 64.
    static func decode(_ text: ArraySlice<UInt8>, into output: inout [UInt8]) -> Bool {
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for character in text {
            if character == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { return false }
            let value: UInt8
            switch character {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a") ... UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return false
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return padding <= 2 && (text.count % 4 == 0)
    }
}
