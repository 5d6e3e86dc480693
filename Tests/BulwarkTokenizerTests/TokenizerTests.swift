import BulwarkTokenizer
import Testing

/// The merge order and the rank file's format, on a vocabulary small enough to read.
@Suite struct TokenizerTests {
    /// Every single byte (ranks 0…255), then `ab` 256, `bc` 257, `abc` 258, `cd` 259.
    static func vocabulary(_ extra: [String] = ["ab", "bc", "abc", "cd"]) -> [UInt8] {
        var lines = (0 ..< 256).map { "\(base64([UInt8($0)])) \($0)" }
        for (offset, token) in extra.enumerated() { lines.append("\(base64(Array(token.utf8))) \(256 + offset)") }
        return Array(lines.joined(separator: "\n").utf8) + [0x0A]
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var text = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index ..< min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(16 - 8 * $1.offset) }
            for position in 0 ..< 4 {
                text.append(position <= chunk.count ? alphabet[Int(value >> UInt32(18 - 6 * position) & 63)] : "=")
            }
            index += 3
        }
        return text
    }

    @Test("a piece that is a token is that token; any other merges its lowest-ranked pair first")
    func mergeOrder() throws {
        let tokenizer = try Tokenizer(.cl100kBase, ranks: Self.vocabulary())
        #expect(tokenizer.vocabularySize == 260)
        #expect(tokenizer.encode("abc") == [258])
        // ab (256) merges before bc (257) and cd (259); then abc (258); abcd is no token.
        #expect(tokenizer.encode("abcd") == [258, Int(UInt8(ascii: "d"))])
        // bcd: bc (257) before cd (259).
        #expect(tokenizer.encode("bcd") == [257, Int(UInt8(ascii: "d"))])
        #expect(tokenizer.count("abcd bcd") == 5)
        #expect(tokenizer.decode(tokenizer.encode("abcd bcd")) == Array("abcd bcd".utf8))
        #expect(tokenizer.encode("") == [])
    }

    @Test("a rank file that is not one is refused, naming the line and the rule")
    func malformed() {
        #expect(throws: TokenizerError.malformedRanks(file: "o200k_base.tiktoken", line: 2, rule: "must be `<base64 bytes> <rank>`")) {
            try Tokenizer(.o200kBase, ranks: Array("YQ== 0\nYg==\n".utf8))
        }
        #expect(throws: TokenizerError.malformedRanks(file: "o200k_base.tiktoken", line: 1, rule: "the token's bytes must be non-empty base 64")) {
            try Tokenizer(.o200kBase, ranks: Array("Y!== 0\n".utf8))
        }
        #expect(throws: TokenizerError.malformedRanks(file: "o200k_base.tiktoken", line: 0, rule: "rank 0 appears twice")) {
            try Tokenizer(.o200kBase, ranks: Array("YQ== 0\nYg== 0\n".utf8))
        }
        #expect(throws: TokenizerError.missingRanks(path: "/nonexistent/o200k_base.tiktoken")) {
            try Tokenizer(.o200kBase, ranksFile: "/nonexistent/o200k_base.tiktoken")
        }
    }
}
