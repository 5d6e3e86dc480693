public import NIOCore

/// A reply from Redis, in the RESP2 or RESP3 protocol.
///
/// RESP3's extra types (map, set, double, boolean, big number, verbatim string) are kept as such;
/// a RESP2 server sends the same data as arrays, integers and bulk strings, so readers that accept
/// both (``array``, ``integer``, ``string``) work on either protocol.
public enum RESPValue: Sendable, Equatable {
    /// A status reply such as `OK` (`+`).
    case simpleString(String)
    /// An error reply (`-`, or RESP3's blob error `!`), its first word the error's kind: `ERR`,
    /// `NOSCRIPT`, `MOVED`, `ASK`, `WRONGPASS`…
    case error(String)
    /// An integer (`:`).
    case integer(Int64)
    /// A binary-safe string (`$`, or RESP3's verbatim string `=` without its format prefix).
    case bulkString(ByteBuffer)
    /// A null (`$-1`, `*-1`, or RESP3's `_`).
    case null
    /// An array (`*`), or RESP3's set (`~`).
    case array([RESPValue])
    /// RESP3's map (`%`), its pairs in the server's order.
    case map([RESPPair])
    /// RESP3's double (`,`).
    case double(Double)
    /// RESP3's boolean (`#`).
    case boolean(Bool)
    /// RESP3's big number (`(`), in decimal.
    case bigNumber(String)

    /// The value as text: a simple string, a bulk string or a big number; `nil` otherwise.
    public var string: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text): text
        case .bulkString(let buffer): String(buffer: buffer)
        default: nil
        }
    }

    /// The value as an integer: an integer reply, or a string of decimal digits; `nil` otherwise.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString, .bigNumber: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array or a set; a map's keys and values in turn; `nil` otherwise.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values): values
        case .map(let pairs): pairs.flatMap { [$0.key, $0.value] }
        default: nil
        }
    }

    /// The message of an error reply; `nil` for any other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }
}

/// One entry of a RESP3 map.
public struct RESPPair: Sendable, Equatable {
    /// The entry's key.
    public var key: RESPValue
    /// The entry's value.
    public var value: RESPValue

    /// Creates an entry.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}
