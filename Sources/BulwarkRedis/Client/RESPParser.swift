import NIOCore

/// Reads RESP2 and RESP3 replies from a byte stream, one complete value at a time.
///
/// ``next(_:)`` returns `nil` and consumes nothing while a value is incomplete, so the caller keeps
/// the bytes and tries again when more arrive. Out-of-band pushes (`>`) and attributes (`|`) are
/// read and dropped: Bulwark neither subscribes nor tracks keys, so no reply is ever one of them.
struct RESPParser {
    /// Deeper nesting than this is a protocol error, not a stack overflow.
    static let maximumDepth = 64

    enum ParseError: Error, Equatable {
        case unexpectedByte(UInt8)
        case badNumber
        case tooDeep
    }

    /// The next complete value in `buffer`, consuming its bytes; `nil` when it is incomplete.
    mutating func next(_ buffer: inout ByteBuffer) throws(ParseError) -> RESPValue? {
        var copy = buffer
        while true {
            guard let value = try Self.value(&copy, depth: 0) else { return nil }
            buffer = copy
            if case .some(let reply) = value { return reply }
            // A push or an attribute: dropped; read on.
        }
    }

    /// One value: `nil` when incomplete, `.some(nil)` for a dropped push or attribute.
    private static func value(_ buffer: inout ByteBuffer, depth: Int) throws(ParseError) -> RESPValue??
    {
        guard depth < maximumDepth else { throw .tooDeep }
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.simpleString(String(buffer: line)))
        case UInt8(ascii: "-"):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.error(String(buffer: line)))
        case UInt8(ascii: ":"):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.integer(try number(line)))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let line = readLine(&buffer) else { return nil }
            let length = try number(line)
            if length < 0 { return .some(.null) }
            guard buffer.readableBytes >= Int(length) + 2, var blob = buffer.readSlice(length: Int(length)) else {
                return nil
            }
            buffer.moveReaderIndex(forwardBy: 2)
            if type == UInt8(ascii: "!") { return .some(.error(String(buffer: blob))) }
            if type == UInt8(ascii: "=") { blob.moveReaderIndex(forwardBy: min(4, blob.readableBytes)) }
            return .some(.bulkString(blob))
        case UInt8(ascii: "_"):
            guard readLine(&buffer) != nil else { return nil }
            return .some(.null)
        case UInt8(ascii: "#"):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.boolean(line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "t")))
        case UInt8(ascii: ","):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.double(Double(String(buffer: line)) ?? .nan))
        case UInt8(ascii: "("):
            guard let line = readLine(&buffer) else { return nil }
            return .some(.bigNumber(String(buffer: line)))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let line = readLine(&buffer) else { return nil }
            let count = try number(line)
            if count < 0 { return .some(.null) }
            var values: [RESPValue] = []
            values.reserveCapacity(Int(min(count, 1024)))
            for _ in 0..<count {
                guard let element = try value(&buffer, depth: depth + 1) else { return nil }
                if let element { values.append(element) }
            }
            return type == UInt8(ascii: ">") ? .some(nil) : .some(.array(values))
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let line = readLine(&buffer) else { return nil }
            let count = try number(line)
            var pairs: [RESPPair] = []
            for _ in 0..<max(0, count) {
                guard let key = try value(&buffer, depth: depth + 1), let value = try value(&buffer, depth: depth + 1)
                else { return nil }
                if let key, let value { pairs.append(RESPPair(key: key, value: value)) }
            }
            return type == UInt8(ascii: "|") ? .some(nil) : .some(.map(pairs))
        default:
            throw .unexpectedByte(type)
        }
    }

    /// The bytes up to the next CRLF (consumed with it); `nil` when no CRLF has arrived yet.
    private static func readLine(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex else { return nil }
        let line = buffer.readSlice(length: cr - view.startIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A decimal integer, optionally signed.
    private static func number(_ line: ByteBuffer) throws(ParseError) -> Int64 {
        var value: Int64 = 0
        var negative = false
        var digits = 0
        for byte in line.readableBytesView {
            if byte == UInt8(ascii: "-"), digits == 0, !negative {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .badNumber }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .badNumber }
            value = sum
            digits += 1
        }
        guard digits > 0 else { throw .badNumber }
        return negative ? -value : value
    }
}
