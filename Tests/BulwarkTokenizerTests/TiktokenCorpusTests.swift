import BulwarkTestSupport
import BulwarkTokenizer
import Foundation
import Testing

/// Every string of `scripts/tokenizer-corpus` (over 12,000: many scripts and languages, code,
/// emoji, long white-space runs, numbers, contractions, rare Unicode categories) encoded by this
/// tokenizer and by Python's `tiktoken` from the same rank files: the tokens must be the same.
///
/// A solo test (`BULWARK_SOLO=1`, see `soloTests`): it runs when asked and the rank files are
/// present, in `BULWARK_TIKTOKEN_DIR`, else in `.tiktoken/` at the package's root, where
/// `scripts/fetch-tiktoken` puts them.
@Suite struct TiktokenCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ranks = ProcessInfo.processInfo.environment["BULWARK_TIKTOKEN_DIR"] ?? root.appendingPathComponent(".tiktoken").path
    static let present = Tokenizer.Encoding.allCases.allSatisfy {
        FileManager.default.fileExists(atPath: ranks + "/" + $0.fileName)
    }

    struct Line: Decodable {
        var text: String?
        var cl100k_base: [Int]?
        var o200k_base: [Int]?
    }

    /// Under the thread sanitizer the comparison would take minutes of a core and starve the
    /// suites beside it, for nothing the sanitizer can find (the tokenizer is single-threaded).
    @Test(
        "the tokens equal Python tiktoken's on the whole corpus",
        .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"), .enabled(if: present, "no rank files: run scripts/fetch-tiktoken"),
        .disabled(if: isThreadSanitized, "single-threaded, and slow under TSan")
    )
    func corpus() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = directory.appendingPathComponent("corpus.jsonl").path
        let expected = directory.appendingPathComponent("expected.jsonl").path
        let script = Self.root.appendingPathComponent("scripts/tokenizer-corpus").path
        _ = try await run("python3", [script, "corpus", corpus])
        _ = try await run("python3", [script, "encode", Self.ranks, corpus, expected])

        // Encoding 2.8 MB twice is seconds of CPU: off the concurrency pool, which other suites'
        // timers and clients need.
        let report = try await offPool { () throws -> [String] in
            let decoder = JSONDecoder()
            func lines(_ path: String) throws -> [Line] {
                try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try decoder.decode(Line.self, from: Data($0.utf8)) }
            }
            let texts = try lines(corpus).map { $0.text ?? "" }
            let answers = try lines(expected)
            guard texts.count >= 10_000 else { return ["the corpus has \(texts.count) strings"] }
            guard answers.count == texts.count else { return ["tiktoken answered \(answers.count) of \(texts.count) strings (is tiktoken installed?)"] }
            var report: [String] = []
            for encoding in Tokenizer.Encoding.allCases {
                let tokenizer = try Tokenizer(encoding, ranksFile: Self.ranks + "/" + encoding.fileName)
                var differences = 0
                for (text, answer) in zip(texts, answers) {
                    let tiktoken = encoding == .cl100kBase ? answer.cl100k_base : answer.o200k_base
                    let ours = tokenizer.encode(text)
                    if ours != tiktoken {
                        differences += 1
                        if differences <= 5 {
                            report.append("\(encoding.rawValue): \(String(reflecting: text.prefix(120))): ours \(ours.prefix(20)), tiktoken \((tiktoken ?? []).prefix(20))")
                        }
                    }
                }
                if differences > 0 { report.append("\(encoding.rawValue): \(differences) of \(texts.count) strings differ") }
            }
            return report
        }
        #expect(report.isEmpty, "\(report.joined(separator: "\n"))")
    }
}
