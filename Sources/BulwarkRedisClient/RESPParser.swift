package import NIOCore

/// Reads RESP2 and RESP3 replies from a byte stream, one complete value at a time.
///
/// `next(_:)` returns `nil` and consumes nothing while a value is incomplete, so the caller keeps
/// the bytes and tries again when more arrive. Out-of-band pushes (`>`) and attributes (`|`) are
/// read and dropped: Bulwark neither subscribes nor tracks keys, so no reply is ever one of them.
///
/// Whatever the bytes, it returns a value, `nil` or a `ParseError`; it never traps and never
/// waits for more than `maximumLength` bytes of one line or one bulk string. Every number is
/// read with checked arithmetic, and these are errors:
///
/// - a bulk length (`$`, `!`, `=`) or an aggregate count (`*`, `~`, `>`, `%`, `|`) above
///   `maximumLength`, or negative (but `$-1` and `*-1`, RESP2's nulls);
/// - a line (a simple string, an error, a number, a header) longer than `maximumLength`, even
///   before its CRLF has arrived: a peer sending bytes without end cannot grow the buffer without
///   bound;
/// - a CR not followed by LF, a bulk payload not followed by CRLF, a boolean other than `#t` or
///   `#f`, a double, big number or null that is not one;
/// - nesting deeper than `maximumDepth`.
///
/// It does not bound the total size of an aggregate: an array of `maximumLength` elements, each
/// as long as allowed, is accepted as it arrives.
package struct RESPParser {
    /// Deeper nesting than this is a protocol error, not a stack overflow.
    static let maximumDepth = 64

    /// Redis' own limit on a bulk string (`proto-max-bulk-len`): 512 MB.
    package static let defaultMaximumLength = 536_870_912

    /// The longest bulk string, the largest aggregate count and the longest line accepted.
    let maximumLength: Int

    /// A parser refusing lengths, counts and lines above `maximumLength` (at least 1).
    package init(maximumLength: Int = RESPParser.defaultMaximumLength) {
        precondition(maximumLength >= 1, "a RESP parser's maximum length must be at least 1")
        self.maximumLength = maximumLength
    }

    /// Why bytes are not RESP; its description names the rule broken.
    package enum ParseError: Error, Equatable, CustomStringConvertible {
        /// A byte that starts no RESP type, where a value was expected.
        case unexpectedByte(UInt8)
        /// An integer, a length or a count that is not a decimal `Int64`.
        case badNumber
        /// A length or a count (after its type byte) above `maximum`, or negative where that is
        /// not a null.
        case lengthOutOfRange(Int64, type: UInt8, maximum: Int)
        /// A line longer than `maximum` bytes, with or without its CRLF yet.
        case lineTooLong(maximum: Int)
        /// A CR not followed by LF.
        case missingLineFeed
        /// A bulk payload (after its type byte) not followed by CRLF.
        case missingTerminator(type: UInt8)
        /// A line not of its type's form: a boolean other than `t` or `f`, a double or big number
        /// that is not a number, a null with content, a verbatim string without its format.
        case malformed(type: UInt8)
        /// Nesting deeper than `RESPParser/maximumDepth`.
        case tooDeep

        package var description: String {
            switch self {
            case .unexpectedByte(let byte):
                "unexpected byte \(Self.show(byte)) where a reply's type was expected"
            case .badNumber:
                "a number that is not a decimal 64-bit integer"
            case .lengthOutOfRange(let length, let type, _) where length < 0:
                type == UInt8(ascii: "$") || type == UInt8(ascii: "*")
                    ? "\(Self.lengthName(type)) \(length) is negative and not -1 (a null)"
                    : "\(Self.lengthName(type)) \(length) is negative"
            case .lengthOutOfRange(let length, let type, let maximum):
                "\(Self.lengthName(type)) \(length) above the maximum \(maximum)"
            case .lineTooLong(let maximum):
                "a line longer than the maximum \(maximum) bytes"
            case .missingLineFeed:
                "a CR not followed by LF"
            case .missingTerminator(let type):
                "a \(Self.typeName(type)) whose payload is not followed by CRLF"
            case .malformed(let type):
                switch type {
                case UInt8(ascii: "#"): "a boolean other than #t or #f"
                case UInt8(ascii: "_"): "a null with content"
                case UInt8(ascii: "="): "a verbatim string without its three-letter format and colon"
                default: "a \(Self.typeName(type)) that is not a number"
                }
            case .tooDeep:
                "replies nested deeper than \(RESPParser.maximumDepth)"
            }
        }

        private static func show(_ byte: UInt8) -> String {
            let hex = "0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            return (0x21...0x7E).contains(byte) ? "\(hex) ('\(Character(Unicode.Scalar(byte)))')" : hex
        }

        private static func lengthName(_ type: UInt8) -> String {
            switch type {
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="): "\(typeName(type)) length"
            default: "\(typeName(type)) count"
            }
        }

        private static func typeName(_ type: UInt8) -> String {
            switch type {
            case UInt8(ascii: "+"): "simple string"
            case UInt8(ascii: "-"): "error"
            case UInt8(ascii: ":"): "integer"
            case UInt8(ascii: "$"): "bulk"
            case UInt8(ascii: "!"): "blob error"
            case UInt8(ascii: "="): "verbatim string"
            case UInt8(ascii: "*"): "array"
            case UInt8(ascii: "~"): "set"
            case UInt8(ascii: ">"): "push"
            case UInt8(ascii: "%"): "map"
            case UInt8(ascii: "|"): "attribute"
            case UInt8(ascii: "_"): "null"
            case UInt8(ascii: "#"): "boolean"
            case UInt8(ascii: ","): "double"
            case UInt8(ascii: "("): "big number"
            default: "value of type \(show(type))"
            }
        }
    }

    /// The next complete value in `buffer`, consuming its bytes; `nil` when it is incomplete.
    ///
    /// Pushes and attributes before it are consumed with it, not before: on `nil` the buffer is
    /// as it was.
    package mutating func next(_ buffer: inout ByteBuffer) throws(ParseError) -> RESPValue? {
        let base = buffer
        let maximumLength = maximumLength
        var reply: RESPValue?
        // Over the raw bytes, not through ByteBuffer's reads: several times faster, in debug
        // builds most of all. A bulk string is a slice of `base`, sharing its storage.
        let consumed = try base.withUnsafeReadableBytes { bytes throws(ParseError) in
            var reader = Reader(bytes: bytes, base: base, maximumLength: maximumLength)
            while true {
                switch try reader.value(depth: 0) {
                case .incomplete: return 0
                case .dropped: continue  // A push or an attribute: read on.
                case .value(let value):
                    reply = value
                    return reader.index
                }
            }
        }
        if reply != nil { buffer.moveReaderIndex(forwardBy: consumed) }
        return reply
    }

    /// What one read of a value gave.
    private enum Step {
        /// Its bytes have not all arrived.
        case incomplete
        /// An attribute, or a push at the top: read and dropped.
        case dropped
        /// A complete value.
        case value(RESPValue)
    }

    /// A cursor over the readable bytes of one buffer.
    ///
    /// One small function per kind of value: a debug build clears every local of a function on
    /// entry, so one large function would cost that for every byte type.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        /// The buffer `bytes` are the readable bytes of: bulk strings are its slices.
        let base: ByteBuffer
        let maximumLength: Int
        /// The next byte to read.
        var index = 0

        mutating func value(depth: Int) throws(ParseError) -> Step {
            guard depth < RESPParser.maximumDepth else { throw .tooDeep }
            guard index < bytes.count else { return .incomplete }
            let type = bytes[index]
            index += 1
            switch type {
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                return try blob(type)
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                return try array(type, depth: depth)
            case UInt8(ascii: "%"), UInt8(ascii: "|"):
                return try map(type, depth: depth)
            default:
                return try simple(type)
            }
        }

        /// A value on one line: a simple string, an error, an integer, a null, a boolean, a
        /// double or a big number.
        private mutating func simple(_ type: UInt8) throws(ParseError) -> Step {
            let value: RESPValue
            switch type {
            case UInt8(ascii: "+"):
                guard let line = try line() else { return .incomplete }
                value = .simpleString(string(line))
            case UInt8(ascii: "-"):
                guard let line = try line() else { return .incomplete }
                value = .error(string(line))
            case UInt8(ascii: ":"):
                guard let line = try line() else { return .incomplete }
                value = .integer(try number(line))
            case UInt8(ascii: "_"):
                guard let line = try line() else { return .incomplete }
                guard line.isEmpty else { throw .malformed(type: type) }
                value = .null
            case UInt8(ascii: "#"):
                guard let line = try line() else { return .incomplete }
                switch line.count == 1 ? bytes[line.lowerBound] : 0 {
                case UInt8(ascii: "t"): value = .boolean(true)
                case UInt8(ascii: "f"): value = .boolean(false)
                default: throw .malformed(type: type)
                }
            case UInt8(ascii: ","):
                guard let line = try line() else { return .incomplete }
                guard let double = Double(string(line)) else { throw .malformed(type: type) }
                value = .double(double)
            case UInt8(ascii: "("):
                guard let line = try line() else { return .incomplete }
                guard isBigNumber(line) else { throw .malformed(type: type) }
                value = .bigNumber(string(line))
            default:
                throw .unexpectedByte(type)
            }
            return .value(value)
        }

        /// A bulk string (`$`), a blob error (`!`) or a verbatim string (`=`).
        private mutating func blob(_ type: UInt8) throws(ParseError) -> Step {
            guard let line = try line() else { return .incomplete }
            let length = try number(line)
            if length == -1, type == UInt8(ascii: "$") { return .value(.null) }
            let count = try checked(length, type: type)
            // `count` is at most `maximumLength`, which may be `Int.max`: no `count + 2`.
            let start = index
            guard bytes.count - start >= 2, bytes.count - start - 2 >= count else { return .incomplete }
            guard bytes[start + count] == 0x0D, bytes[start + count + 1] == 0x0A else {
                throw .missingTerminator(type: type)
            }
            index = start + count + 2
            switch type {
            case UInt8(ascii: "!"):
                return .value(.error(string(start..<start + count)))
            case UInt8(ascii: "="):
                guard count >= 4, bytes[start + 3] == UInt8(ascii: ":") else { throw .malformed(type: type) }
                return .value(.bulkString(slice(start + 4..<start + count)))
            default:
                return .value(.bulkString(slice(start..<start + count)))
            }
        }

        /// An array (`*`), a set (`~`) or a push (`>`, dropped at the top).
        private mutating func array(_ type: UInt8, depth: Int) throws(ParseError) -> Step {
            guard let line = try line() else { return .incomplete }
            let length = try number(line)
            if length == -1, type == UInt8(ascii: "*") { return .value(.null) }
            let count = try checked(length, type: type)
            var values: [RESPValue] = []
            // A header alone reserves little: the elements must arrive to take room.
            values.reserveCapacity(count < 1024 ? count : 1024)
            while values.count < count {
                guard let element = try element(depth: depth + 1) else { return .incomplete }
                values.append(element)
            }
            return type == UInt8(ascii: ">") && depth == 0 ? .dropped : .value(.array(values))
        }

        /// A map (`%`) or an attribute (`|`, dropped).
        private mutating func map(_ type: UInt8, depth: Int) throws(ParseError) -> Step {
            guard let line = try line() else { return .incomplete }
            let count = try checked(try number(line), type: type)
            var pairs: [RESPPair] = []
            pairs.reserveCapacity(count < 1024 ? count : 1024)
            while pairs.count < count {
                guard let key = try element(depth: depth + 1), let value = try element(depth: depth + 1) else {
                    return .incomplete
                }
                pairs.append(RESPPair(key: key, value: value))
            }
            return type == UInt8(ascii: "|") ? .dropped : .value(.map(pairs))
        }

        /// One element of an aggregate, after any attributes before it (which are not elements);
        /// `nil` when incomplete.
        private mutating func element(depth: Int) throws(ParseError) -> RESPValue? {
            while true {
                switch try value(depth: depth) {
                case .incomplete: return nil
                case .dropped: continue
                case .value(let value): return value
                }
            }
        }

        /// `length` as a count in `0...maximumLength`, or `ParseError/lengthOutOfRange(_:type:maximum:)`.
        private func checked(_ length: Int64, type: UInt8) throws(ParseError) -> Int {
            // Int64(Int) is exact on every platform; Int(length) then fits, being at most maximumLength.
            guard length >= 0, length <= Int64(maximumLength) else {
                throw .lengthOutOfRange(length, type: type, maximum: maximumLength)
            }
            return Int(length)
        }

        /// The range of the bytes up to the next CRLF, consumed with it; `nil` when no CRLF has
        /// arrived yet.
        ///
        /// Looks at no more than `maximumLength + 1` bytes: a longer line is an error at once.
        private mutating func line() throws(ParseError) -> Range<Int>? {
            let start = index
            let readable = bytes.count - start
            let limit = readable > maximumLength ? start + maximumLength + 1 : bytes.count
            var cr = start
            while cr < limit, bytes[cr] != 0x0D { cr += 1 }
            guard cr < limit else {
                if readable > maximumLength { throw .lineTooLong(maximum: maximumLength) }
                return nil
            }
            guard cr + 1 < bytes.count else { return nil }
            guard bytes[cr + 1] == 0x0A else { throw .missingLineFeed }
            index = cr + 2
            return start..<cr
        }

        /// A decimal integer, optionally negative, that fits `Int64`.
        private func number(_ line: Range<Int>) throws(ParseError) -> Int64 {
            let negative = !line.isEmpty && bytes[line.lowerBound] == UInt8(ascii: "-")
            var index = negative ? line.lowerBound + 1 : line.lowerBound
            guard index < line.upperBound else { throw .badNumber }
            var value: Int64 = 0
            while index < line.upperBound {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { throw .badNumber }
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                // Accumulated with its sign, so that Int64.min is read too.
                let (next, carry) =
                    negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
                guard !overflow, !carry else { throw .badNumber }
                value = next
                index += 1
            }
            return value
        }

        /// Whether `line` is an optionally signed run of decimal digits.
        private func isBigNumber(_ line: Range<Int>) -> Bool {
            guard !line.isEmpty else { return false }
            let sign = bytes[line.lowerBound]
            var index = sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") ? line.lowerBound + 1 : line.lowerBound
            guard index < line.upperBound else { return false }
            while index < line.upperBound {
                guard bytes[index] &- UInt8(ascii: "0") < 10 else { return false }
                index += 1
            }
            return true
        }

        private func string(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }

        private func slice(_ range: Range<Int>) -> ByteBuffer {
            // In range by construction: the bytes are `base`'s readable ones.
            base.getSlice(at: base.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
        }
    }
}
