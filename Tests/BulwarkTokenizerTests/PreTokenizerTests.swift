@testable import BulwarkTokenizer
import Testing

/// The pieces each pattern cuts, against those Python's `regex` module finds with tiktoken's own
/// patterns (the expected lists below were printed by it).
@Suite struct PreTokenizerTests {
    func pieces(_ text: String, _ pattern: PreTokenizer.Pattern) -> [String] {
        var copy = text
        return copy.withUTF8 { utf8 in
            var pieces: [String] = []
            PreTokenizer(pattern: pattern).forEachPiece(Scalars(utf8)) { range in
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[range]), as: UTF8.self))
            }
            return pieces
        }
    }

    static let cases: [(text: String, cl100k: [String], o200k: [String])] = [
        ("Hello world's  \n\n  x", ["Hello", " world", "'s", "  \n\n", " ", " x"], ["Hello", " world's", "  \n\n", " ", " x"]),
        (
            "I'LL SEE you're 12345 times!!\n/path  ",
            ["I", "'LL", " SEE", " you", "'re", " ", "123", "45", " times", "!!\n", "/path", "  "],
            ["I'LL", " SEE", " you're", " ", "123", "45", " times", "!!\n/", "path", "  "]
        ),
        (
            "HTTPServer getURL naïve Ünïcode",
            ["HTTPServer", " getURL", " naïve", " Ünïcode"], ["HTTPServer", " get", "URL", " naïve", " Ünïcode"]
        ),
        ("a  b\t\t\nc   ", ["a", " ", " b", "\t\t\n", "c", "   "], ["a", " ", " b", "\t\t\n", "c", "   "]),
        (
            "x \u{301}y ab\u{301}c D\u{17D}ungla",
            ["x", " \u{301}", "y", " ab", "\u{301}c", " D\u{17D}ungla"], ["x", " \u{301}y", " ab\u{301}c", " D\u{17D}ungla"]
        ),
        (
            "1,234.5e-7 \u{17F}t 'S'D",
            ["1", ",", "234", ".", "5", "e", "-", "7", " \u{17F}t", " '", "S", "'D"],
            ["1", ",", "234", ".", "5", "e", "-", "7", " \u{17F}t", " '", "S'D"]
        ),
        ("  \n  ", ["  \n  "], ["  \n", "  "]),
        ("$ ls -la /usr/bin//\n//x", ["$", " ls", " -", "la", " /", "usr", "/bin", "//\n", "//", "x"], ["$", " ls", " -", "la", " /", "usr", "/bin", "//\n//", "x"]),
        ("", [], []),
    ]

    @Test("cl100k_base cuts as its pattern does", arguments: cases.indices)
    func cl100k(_ index: Int) {
        #expect(pieces(Self.cases[index].text, .cl100k) == Self.cases[index].cl100k)
    }

    @Test("o200k_base cuts as its pattern does", arguments: cases.indices)
    func o200k(_ index: Int) {
        #expect(pieces(Self.cases[index].text, .o200k) == Self.cases[index].o200k)
    }
}
