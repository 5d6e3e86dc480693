import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import NIOCore
import Testing

@testable import BulwarkRedisClient

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every RESP2 and RESP3 type, split at every byte")
    func everyTypeAtEverySplit() throws {
        let wire = "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n"
            + "%1\r\n+k\r\n:7\r\n~1\r\n:9\r\n>2\r\n+push\r\n:1\r\n=8\r\ntxt:abcd\r\n!3\r\nbad\r\n|1\r\n+a\r\n+b\r\n:5\r\n"
        let expected: [RESPValue] = [
            .simpleString("OK"), .error("ERR bad"), .integer(42), .bulkString(ByteBuffer(string: "hello")), .null,
            .array([.integer(1), .bulkString(ByteBuffer(string: "x"))]), .null, .boolean(true), .double(1.5),
            .bigNumber("12345678901234567890"), .map([RESPPair(key: .simpleString("k"), value: .integer(7))]),
            .array([.integer(9)]), .bulkString(ByteBuffer(string: "abcd")), .error("bad"), .integer(5),
        ]
        let bytes = Array(wire.utf8)
        for split in 0...bytes.count {
            var parser = RESPParser()
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var values: [RESPValue] = []
            while let value = try parser.next(&buffer) { values.append(value) }
            buffer.writeBytes(bytes[split...])
            while let value = try parser.next(&buffer) { values.append(value) }
            #expect(values == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("garbage is a protocol error, not a crash")
    func garbage() {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPParser.ParseError.self) { try parser.next(&buffer) }
        var bad = ByteBuffer(string: ":12x\r\n")
        #expect(throws: RESPParser.ParseError.self) { try parser.next(&bad) }
    }

    @Test(
        "a length or count above the maximum, or negative other than a null's -1, is an error for every type byte",
        arguments: ["$", "!", "=", "*", "~", ">", "%", "|"] as [Character]
    )
    func lengthsOutOfRange(type: Character) throws {
        let byte = try #require(type.asciiValue)
        let maximum = RESPParser.defaultMaximumLength
        func parse(_ header: String, maximumLength: Int = RESPParser.defaultMaximumLength) throws(RESPParser.ParseError)
            -> (RESPValue?, consumed: Int)
        {
            var parser = RESPParser(maximumLength: maximumLength)
            var buffer = ByteBuffer(string: "\(type)\(header)\r\n")
            let before = buffer.readableBytes
            let value = try parser.next(&buffer)
            return (value, before - buffer.readableBytes)
        }
        for length in [Int64.max, Int64(maximum) + 1, -2, -9_223_372_036_854_775_808] {
            #expect(throws: RESPParser.ParseError.lengthOutOfRange(length, type: byte, maximum: maximum), "\(type)\(length)") {
                try parse(String(length))
            }
        }
        // -1 is RESP2's null bulk string and null array; any other type has RESP3's `_` for that.
        if type == "$" || type == "*" {
            let (value, consumed) = try parse("-1")
            #expect(value == .null && consumed == 5)
        } else {
            #expect(throws: RESPParser.ParseError.lengthOutOfRange(-1, type: byte, maximum: maximum)) { try parse("-1") }
        }
        // Not a 64-bit integer at all.
        for header in ["9223372036854775808", "-9223372036854775809", "99999999999999999999999", "", "-", "+1", "1-", "0x10"] {
            #expect(throws: RESPParser.ParseError.badNumber, "\(type)\(header)") { try parse(header) }
        }
        // At the maximum: incomplete (its payload or elements have not arrived), nothing consumed.
        #expect(try parse(String(maximum)) == (nil, 0))
        #expect(try parse("10", maximumLength: 10) == (nil, 0))
        #expect(throws: RESPParser.ParseError.lengthOutOfRange(11, type: byte, maximum: 10)) { try parse("11", maximumLength: 10) }
        // A maximum of Int.max lets the overflow header through, and it must still not trap.
        #expect(try parse(String(Int64.max), maximumLength: .max) == (nil, 0))
    }

    @Test("the errors name the rule they enforce")
    func errorDescriptions() {
        let dollar = UInt8(ascii: "$")
        #expect(
            "\(RESPParser.ParseError.lengthOutOfRange(.max, type: dollar, maximum: 536_870_912))"
                == "bulk length 9223372036854775807 above the maximum 536870912"
        )
        #expect("\(RESPParser.ParseError.lengthOutOfRange(-2, type: dollar, maximum: 9))" == "bulk length -2 is negative and not -1 (a null)")
        #expect("\(RESPParser.ParseError.lengthOutOfRange(-1, type: UInt8(ascii: "%"), maximum: 9))" == "map count -1 is negative")
        #expect("\(RESPParser.ParseError.lengthOutOfRange(10, type: UInt8(ascii: ">"), maximum: 9))" == "push count 10 above the maximum 9")
        #expect("\(RESPParser.ParseError.unexpectedByte(UInt8(ascii: "?")))" == "unexpected byte 0x3F ('?') where a reply's type was expected")
        #expect("\(RESPParser.ParseError.unexpectedByte(0))" == "unexpected byte 0x00 where a reply's type was expected")
        #expect("\(RESPParser.ParseError.lineTooLong(maximum: 10))" == "a line longer than the maximum 10 bytes")
        #expect("\(RESPParser.ParseError.malformed(type: UInt8(ascii: "#")))" == "a boolean other than #t or #f")
        #expect("\(RESPParser.ParseError.missingTerminator(type: dollar))" == "a bulk whose payload is not followed by CRLF")
    }

    @Test("a line longer than the maximum is an error before its CRLF arrives, for every line type")
    func longLines() throws {
        for type in ["+", "-", ":", ",", "(", "#", "_", "$", "*", "%"] {
            var parser = RESPParser(maximumLength: 8)
            var atMaximum = ByteBuffer(string: type + "12345678")
            #expect(try parser.next(&atMaximum) == nil, "\(type): 8 bytes, no CRLF yet: incomplete")
            #expect(atMaximum.readableBytes == 9)
            var beyond = ByteBuffer(string: type + "123456789")
            #expect(throws: RESPParser.ParseError.lineTooLong(maximum: 8), "\(type)") { try parser.next(&beyond) }
        }
    }

    @Test("every prefix of every valid reply is incomplete and consumes nothing; the whole reply is its value")
    func prefixes() throws {
        for (index, (wire, expected)) in Self.valid.enumerated() {
            let bytes = Array(wire.utf8)
            var parser = RESPParser()
            for end in 0..<bytes.count {
                var buffer = ByteBuffer(bytes: bytes[..<end])
                let value = try parser.next(&buffer)
                #expect(value == nil, "case \(index), prefix of \(end) bytes gave \(String(describing: value))")
                #expect(buffer.readableBytes == end, "case \(index), prefix of \(end) bytes consumed some")
            }
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try parser.next(&buffer) == expected, "case \(index): \(wire.debugDescription)")
            #expect(buffer.readableBytes == 0, "case \(index) left bytes")
        }
    }

    @Test("every case of the corpus file has its recorded outcome")
    func corpusFile() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/resp-cases.txt")
        let cases = try RESPCorpusCase.read(from: url)
        #expect(cases.count >= 40)
        for item in cases {
            var parser = RESPParser(maximumLength: item.maximumLength ?? RESPParser.defaultMaximumLength)
            var buffer = ByteBuffer(bytes: item.bytes)
            let outcome: String
            do throws(RESPParser.ParseError) {
                if try parser.next(&buffer) == nil {
                    outcome = buffer.readableBytes == item.bytes.count ? "incomplete" : "incomplete, but consumed"
                } else {
                    outcome = buffer.readableBytes == 0 ? "value" : "value, leaving bytes"
                }
            } catch {
                outcome = "error:" + Self.kind(error)
            }
            #expect(outcome == item.outcome, "line \(item.line): \(item.comment)")
        }
    }

    @Test(
        "a million fuzzed inputs: each parses, is incomplete or is a ParseError; fed a byte at a time, the same",
        .timeLimit(minutes: 10)
    )
    func fuzz() async throws {
        // Measured in a debug build on two busy cores: 10–13 s, of which 4–5 s are Swift Testing
        // capturing a backtrace at each of the ~600,000 throws (SWT_SWIFT_ERROR_BACKTRACING_ENABLED=0
        // turns that off). Single-threaded arithmetic the thread sanitizer has nothing to say about: a tenth as many
        // cases under it, so its tenfold slowdown does not starve the suites running beside it.
        let cases = isThreadSanitized ? 100_000 : 1_000_000
        // Every 128th case of at most 256 bytes is also fed a byte at a time (quadratic in its
        // length, hence a subset).
        let incrementalEvery = 128
        // On a thread of its own, not one of the concurrency pool's two: a dozen seconds of
        // arithmetic there would hold back every suite waiting on the pool.
        let (failures, tally, elapsed) = try await offPool { () -> ([String], RESPFuzzTally, Duration) in
            var fuzzer = RESPFuzzer(seed: 0x5EED_BEEF, corpus: Self.valid.map { Array($0.0.utf8) })
            // The default maximum, and a small one that the fuzzed lengths and lines often pass.
            let parsers = [RESPParser(), RESPParser(maximumLength: 24)]
            var tally = RESPFuzzTally()
            var bytes: [UInt8] = []
            // Cases are made a batch at a time and written to one buffer, each parsed from its part of
            // it: a ByteBuffer call costs a microsecond in a debug build, so as few as possible.
            var batch: [UInt8] = []
            var ranges: [Range<Int>] = []
            var storage = ByteBufferAllocator().buffer(capacity: 1 << 16)
            var failures: [String] = []
            var index = 0
            let started = ContinuousClock.now
            while index < cases {
                batch.removeAll(keepingCapacity: true)
                ranges.removeAll(keepingCapacity: true)
                for _ in 0..<min(1024, cases - index) {
                    fuzzer.next(into: &bytes)
                    ranges.append(batch.count..<batch.count + bytes.count)
                    batch.append(contentsOf: bytes)
                }
                storage.clear()
                batch.withUnsafeBytes { _ = storage.writeBytes($0) }
                // One case after the other: the readable bytes moved over the batch, not sliced.
                var buffer = storage
                for range in ranges {
                    defer { index += 1 }
                    let parser = parsers[index & 1]
                    buffer.moveWriterIndex(to: range.upperBound)
                    buffer.moveReaderIndex(to: range.lowerBound)
                    let incremental = index % incrementalEvery == 0 && range.count <= 256
                    let whole = Self.parseAll(&buffer, parser, collect: incremental, tally: &tally)
                    if let problem = whole.problem, failures.count < 20 {
                        failures.append("case \(index) \(Self.hex(Array(batch[range]))): \(problem)")
                    }
                    guard incremental else { continue }
                    tally.incremental += 1
                    let piecewise = Self.parseByteByByte(Array(batch[range]), parser)
                    if let problem = piecewise.problem ?? Self.difference(whole, piecewise), failures.count < 20 {
                        failures.append("case \(index) \(Self.hex(Array(batch[range]))), byte by byte: \(problem)")
                    }
                }
            }
            let elapsed = ContinuousClock.now - started
            return (failures, tally, elapsed)
        }
        print(
            "RESP fuzz: \(cases) cases (\(tally.incremental) also byte by byte) in \(elapsed): \(tally.values) values, "
                + "\(tally.incomplete) ended incomplete, \(tally.errors) errors \(tally.errorsByKind)"
        )
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(tally.cases == cases)
        // Not a degenerate generator: every outcome, and every error, occurs.
        #expect(tally.values > cases / 20 && tally.incomplete > cases / 20 && tally.errors > cases / 20)
        #expect(tally.errorKinds.allSatisfy { $0 > 0 }, "\(tally.errorsByKind)")
    }

    @Test("SHA-1 matches Redis' script names")
    func sha1() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array(String(repeating: "a", count: 1000).utf8)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test("key slots follow Redis Cluster's CRC16 and hash tags")
    func keySlots() {
        #expect(RedisKeySlot.of("123456789") == 0x31C3 % 16384)
        #expect(RedisKeySlot.of("{user1000}.following") == RedisKeySlot.of("{user1000}.followers"))
        #expect(RedisKeySlot.of("foo{}{bar}") == RedisKeySlot.of("foo{}{bar}"))
        #expect(RedisKeySlot.of("foo{}{bar}") != RedisKeySlot.of("bar"))
        #expect(RedisKeySlot.of("foo{{bar}}zap") == RedisKeySlot.of("{bar"))
    }
}

// MARK: - The corpus of valid replies

extension RESPParserTests {
    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    /// Valid replies of every RESP2 and RESP3 type, each with its value: the prefix test's cases
    /// and the fuzzer's seeds.
    static let valid: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*0\r\n_\r\n", .array([.integer(1), .array([bulk("x"), .array([])]), .null])),
        ("*2\r\n*1\r\n*1\r\n+deep\r\n$-1\r\n", .array([.array([.array([.simpleString("deep")])]), .null])),
        (String(repeating: "*1\r\n", count: 63) + ":7\r\n",
         (0..<63).reduce(RESPValue.integer(7)) { inner, _ in .array([inner]) }),
        ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*1\r\n#f\r\n",
         .map([RESPPair(key: .simpleString("first"), value: .integer(1)),
               RESPPair(key: bulk("second"), value: .array([.boolean(false)]))])),
        ("%0\r\n", .map([])),
        ("~3\r\n:1\r\n+two\r\n,3.5\r\n", .array([.integer(1), .simpleString("two"), .double(3.5)])),
        (">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$2\r\nhi\r\n+OK\r\n", .simpleString("OK")),
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
         .array([.integer(2_039_123), .integer(9_543_892)])),
        ("*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", .array([.integer(1), .integer(2)])),
        (",3.14\r\n", .double(3.14)),
        (",-1.5e10\r\n", .double(-1.5e10)),
        (",10\r\n", .double(10)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("=15\r\ntxt:Some string\r\n", bulk("Some string")),
        ("=4\r\nmkd:\r\n", bulk("")),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("!0\r\n\r\n", .error("")),
        ("_\r\n", .null),
    ]

    /// The names of ``RESPParser/ParseError``'s cases, as the corpus file spells them.
    static let kinds = [
        "unexpectedByte", "badNumber", "lengthOutOfRange", "lineTooLong", "missingLineFeed", "missingTerminator", "malformed",
        "tooDeep",
    ]

    /// The index in ``kinds`` of an error's case.
    static func kindIndex(_ error: RESPParser.ParseError) -> Int {
        switch error {
        case .unexpectedByte: 0
        case .badNumber: 1
        case .lengthOutOfRange: 2
        case .lineTooLong: 3
        case .missingLineFeed: 4
        case .missingTerminator: 5
        case .malformed: 6
        case .tooDeep: 7
        }
    }

    /// The name of an error's case.
    static func kind(_ error: RESPParser.ParseError) -> String { kinds[kindIndex(error)] }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

// MARK: - Parsing a case whole and byte by byte

/// What parsing one input gave: its values in order, then an error or the bytes left incomplete.
struct RESPParseOutcome {
    var values: [RESPValue] = []
    var error: RESPParser.ParseError?
    var leftover = 0
    /// A broken invariant: a `nil` that consumed bytes, a value that consumed none, no end.
    var problem: String?
}

/// What the fuzzer's cases gave, counted.
struct RESPFuzzTally {
    var cases = 0
    var values = 0
    var incomplete = 0
    var errors = 0
    var incremental = 0
    /// Errors by ``RESPParserTests/kinds`` index.
    var errorKinds = [Int](repeating: 0, count: RESPParserTests.kinds.count)

    var errorsByKind: String {
        zip(RESPParserTests.kinds, errorKinds).map { "\($0) \($1)" }.joined(separator: ", ")
    }
}

extension RESPParserTests {
    /// Every value in `buffer` until it ends incomplete or throws; values kept only if `collect`.
    static func parseAll(_ buffer: inout ByteBuffer, _ parser: RESPParser, collect: Bool, tally: inout RESPFuzzTally)
        -> RESPParseOutcome
    {
        var parser = parser
        var outcome = RESPParseOutcome()
        tally.cases += 1
        var before = buffer.readableBytes
        // Each value consumes at least its type byte: more rounds than bytes would be a hang.
        for _ in 0...before {
            do throws(RESPParser.ParseError) {
                let value = try parser.next(&buffer)
                let after = buffer.readableBytes
                guard let value else {
                    if after != before { outcome.problem = "nil, but consumed \(before - after) bytes" }
                    outcome.leftover = before
                    tally.incomplete += 1
                    return outcome
                }
                if after >= before { outcome.problem = "a value that consumed nothing" }
                before = after
                tally.values += 1
                if collect { outcome.values.append(value) }
            } catch {
                outcome.error = error
                tally.errors += 1
                tally.errorKinds[kindIndex(error)] += 1
                return outcome
            }
        }
        outcome.problem = "more values than bytes"
        return outcome
    }

    /// `bytes` arriving one at a time, as a slow network delivers them: after each, every
    /// complete value is read, and a `nil` must leave the buffer as it was.
    static func parseByteByByte(_ bytes: [UInt8], _ parser: RESPParser) -> RESPParseOutcome {
        var parser = parser
        var outcome = RESPParseOutcome()
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        var readable = 0
        for byte in bytes {
            buffer.writeInteger(byte)
            readable += 1
            while true {
                do throws(RESPParser.ParseError) {
                    let value = try parser.next(&buffer)
                    let after = buffer.readableBytes
                    guard let value else {
                        if after != readable { outcome.problem = "nil, but consumed" }
                        break
                    }
                    if after >= readable { outcome.problem = "a value that consumed nothing" }
                    readable = after
                    outcome.values.append(value)
                } catch {
                    outcome.error = error
                    return outcome
                }
                if outcome.problem != nil { return outcome }
            }
        }
        outcome.leftover = buffer.readableBytes
        return outcome
    }

    /// How the byte-by-byte outcome differs from the whole one, if it does.
    static func difference(_ whole: RESPParseOutcome, _ piecewise: RESPParseOutcome) -> String? {
        guard whole.values.count == piecewise.values.count, zip(whole.values, piecewise.values).allSatisfy(same) else {
            return "values \(piecewise.values) where whole gave \(whole.values)"
        }
        if whole.error != piecewise.error { return "error \(String(describing: piecewise.error)) where whole gave \(String(describing: whole.error))" }
        if whole.error == nil, whole.leftover != piecewise.leftover {
            return "\(piecewise.leftover) bytes left where whole left \(whole.leftover)"
        }
        return nil
    }

    /// Equality, but for a NaN, which equals itself here (`,nan` parses to one).
    static func same(_ a: RESPValue, _ b: RESPValue) -> Bool {
        switch (a, b) {
        case (.double(let x), .double(let y)): x == y || (x.isNaN && y.isNaN)
        case (.array(let xs), .array(let ys)): xs.count == ys.count && zip(xs, ys).allSatisfy(same)
        case (.map(let xs), .map(let ys)):
            xs.count == ys.count && zip(xs, ys).allSatisfy { same($0.key, $1.key) && same($0.value, $1.value) }
        default: a == b
        }
    }
}

// MARK: - The fuzzer

/// Inputs for the parser, from a seeded generator: random bytes biased toward RESP's type bytes,
/// digits, CR, LF and `-`; and the valid corpus mutated (bytes flipped, inserted, deleted,
/// truncated, headers duplicated, numbers swapped for extreme ones, replies concatenated).
struct RESPFuzzer {
    var random: SplitMix64
    let corpus: [[UInt8]]

    static let biased: [UInt8] = Array("+-:$*_#,(!=%~>|\r\n\r\n\r\n0123456789-tf".utf8)
    static let numbers: [[UInt8]] = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-1", "-2", "0", "1", "2", "3", "24",
        "25", "536870912", "536870913", "99999999999999999999", "",
    ].map { Array($0.utf8) }

    init(seed: UInt64, corpus: [[UInt8]]) {
        random = SplitMix64(seed: seed)
        self.corpus = corpus
    }

    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: random.next() % UInt64(bound))
    }

    mutating func byte() -> UInt8 {
        let draw = random.next()
        return draw & 3 == 0 ? UInt8(truncatingIfNeeded: draw >> 8) : Self.biased[Int((draw >> 8) % UInt64(Self.biased.count))]
    }

    /// The next case, written over `bytes`.
    mutating func next(into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        if below(4) == 0 {
            for _ in 0..<below(48) { bytes.append(byte()) }
            return
        }
        bytes.append(contentsOf: corpus[below(corpus.count)])
        for _ in 0...below(3) { mutate(&bytes) }
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let at = below(bytes.count + 1)
        switch below(8) {
        case 0 where at < bytes.count:
            bytes[at] = byte()
        case 1:
            bytes.insert(byte(), at: at)
        case 2 where at < bytes.count:
            bytes.remove(at: at)
        case 3:
            bytes.removeLast(below(bytes.count + 1) / 2)
        case 4:
            // A header duplicated: the line around `at`, CRLF included, inserted again before itself.
            var start = at
            while start > 0, bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let line = Array(bytes[start..<min(end + 1, bytes.count)])
            bytes.insert(contentsOf: line, at: start)
        case 5:
            // A number (the digits around `at`) swapped for an extreme one.
            var start = at
            while start > 0, Self.isNumeric(bytes[start - 1]) { start -= 1 }
            var end = at
            while end < bytes.count, Self.isNumeric(bytes[end]) { end += 1 }
            if start == end, let digit = bytes.firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                start = digit
                end = digit
                while end < bytes.count, Self.isNumeric(bytes[end]) { end += 1 }
            }
            bytes.replaceSubrange(start..<end, with: Self.numbers[below(Self.numbers.count)])
        case 6:
            bytes.append(contentsOf: corpus[below(corpus.count)])
        default:
            // Nesting: the case wrapped in arrays, maps or attributes.
            let wrapper: [UInt8] = [Array("*1\r\n".utf8), Array("%1\r\n+k\r\n".utf8), Array("|1\r\n+a\r\n+b\r\n".utf8)][below(3)]
            for _ in 0..<(below(32) == 0 ? 66 : 1) { bytes.insert(contentsOf: wrapper, at: 0) }
        }
    }

    private static func isNumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-")
    }
}

// MARK: - The corpus file

/// One line of `Corpus/resp-cases.txt`: `<outcome> <hex> [max=<n>]  # what it is`.
struct RESPCorpusCase {
    var line: Int
    var outcome: String
    var bytes: [UInt8]
    var maximumLength: Int?
    var comment: String

    static func read(from url: URL) throws -> [RESPCorpusCase] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var cases: [RESPCorpusCase] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let fields = parts[0].split(separator: " ")
            guard !fields.isEmpty else { continue }
            let comment = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            guard fields.count >= 2, let bytes = hexBytes(fields[1]) else {
                Issue.record("line \(index + 1) is not `<outcome> <hex> [max=<n>]`: \(raw)")
                continue
            }
            let maximum = fields.count > 2 && fields[2].hasPrefix("max=") ? Int(fields[2].dropFirst(4)) : nil
            cases.append(RESPCorpusCase(line: index + 1, outcome: String(fields[0]), bytes: bytes, maximumLength: maximum, comment: comment))
        }
        return cases
    }

    /// `-` is no bytes.
    static func hexBytes(_ text: Substring) -> [UInt8]? {
        if text == "-" { return [] }
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[pair..<pair + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
