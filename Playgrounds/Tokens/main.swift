// bulwark-tokens: counts tokens as tiktoken does, and measures the tokenizer's speed.
//
//   bulwark-tokens count <encoding> <ranks-dir> [text…]      tokens of each argument (or stdin)
//   bulwark-tokens bench <ranks-dir> <corpus.jsonl>          MB/s over a corpus, per encoding
//
// The corpus is scripts/tokenizer-corpus's (one {"text": …} per line); Benchmarks/tokenizer runs
// this beside Python's tiktoken on the same corpus.
import BulwarkTokenizer
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "count":
    guard arguments.count >= 3, let encoding = Tokenizer.Encoding(rawValue: arguments[1]) else {
        fail("usage: bulwark-tokens count cl100k_base|o200k_base <ranks-dir> [text…]")
    }
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(encoding, ranksFile: arguments[2] + "/" + encoding.fileName) } catch { fail("\(error)") }
    let texts = arguments.count > 3 ? Array(arguments.dropFirst(3)) : [String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)]
    for text in texts { print(tokenizer.count(text)) }
case "bench":
    guard arguments.count == 3 else { fail("usage: bulwark-tokens bench <ranks-dir> <corpus.jsonl>") }
    struct Line: Decodable { var text: String }
    let texts: [String]
    do {
        texts = try String(contentsOfFile: arguments[2], encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)).text }
    } catch { fail("cannot read the corpus: \(error)") }
    let bytes = texts.reduce(0) { $0 + $1.utf8.count }
    print("bulwark-tokens: \(texts.count) strings, \(bytes) bytes")
    for encoding in Tokenizer.Encoding.allCases {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(encoding, ranksFile: arguments[1] + "/" + encoding.fileName) } catch { fail("\(error)") }
        var best = Duration.seconds(1_000)
        var tokens = 0
        for _ in 0 ..< 3 {
            let clock = ContinuousClock()
            let start = clock.now
            tokens = 0
            for text in texts { tokens += tokenizer.count(text) }
            best = min(best, clock.now - start)
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
        print(String(format: "%@: %d tokens, best of 3: %.3f s, %.2f MB/s (single thread)", encoding.rawValue, tokens, seconds, Double(bytes) / seconds / 1e6))
    }
default:
    fail("usage: bulwark-tokens count|bench …")
}
