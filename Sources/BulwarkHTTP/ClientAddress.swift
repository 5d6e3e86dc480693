public import BulwarkCore
public import HTTPTypes
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped into `::ffff:0:0/96`), parsed by the C
/// library's `inet_pton`.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The 16 bytes, network order.
    let bytes: [UInt8]
    /// The text it was parsed from, normalised by `inet_ntop`.
    public let description: String

    /// Parses `text`: dotted IPv4, or IPv6 (with or without brackets); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let raw = withUnsafeBytes(of: &v4) { Array($0) }
            bytes = Array(repeating: 0, count: 10) + [0xFF, 0xFF] + raw
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let isV4 = bytes[0..<12] == ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] as [UInt8])[...]
        let normalised = buffer.withUnsafeMutableBufferPointer { out -> String? in
            let ok: UnsafePointer<CChar>? = isV4
                ? inet_ntop(AF_INET, &v4, out.baseAddress, socklen_t(out.count))
                : inet_ntop(AF_INET6, &v6, out.baseAddress, socklen_t(out.count))
            return ok.map { String(cString: $0) }
        }
        description = normalised ?? text
    }
}

/// The proxies whose forwarding headers are believed: a list of addresses and CIDR blocks.
///
///     let proxies = try TrustedProxies(["10.0.0.0/8", "127.0.0.1", "::1"])
public struct TrustedProxies: Sendable, Hashable {
    /// The blocks: a network's 16 bytes and its prefix length (an IPv4 /n is /(96 + n)).
    private let blocks: [(network: [UInt8], prefix: Int)]

    /// No proxy is trusted: the peer's address is the client's, every forwarding header ignored.
    public static let none = try! TrustedProxies([])

    /// Trusts `cidrs`: addresses (`127.0.0.1`, `::1`) and blocks (`10.0.0.0/8`, `fd00::/8`).
    ///
    /// - Throws: `BulwarkError.invalidConfiguration(field: "trustedProxies", …)` naming the
    ///   entry that is not an address or a block.
    public init(_ cidrs: [String]) throws(BulwarkError) {
        var blocks: [(network: [UInt8], prefix: Int)] = []
        for entry in cidrs {
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let address = IPAddress(first) else {
                throw .invalidConfiguration(field: "trustedProxies", rule: "\"\(entry)\" is not an IP address or CIDR block")
            }
            let isV4 = !first.contains(":")
            var prefix = 128
            if parts.count == 2 {
                guard let length = Int(parts[1]), length >= 0, length <= (isV4 ? 32 : 128) else {
                    throw .invalidConfiguration(field: "trustedProxies", rule: "\"\(entry)\" has an invalid prefix length")
                }
                prefix = isV4 ? 96 + length : length
            }
            blocks.append((address.bytes, prefix))
        }
        self.blocks = blocks
    }

    /// Whether `address` is in one of the blocks.
    public func contains(_ address: IPAddress) -> Bool {
        blocks.contains { block in
            var remaining = block.prefix
            for index in 0..<16 where remaining > 0 {
                let bits = min(8, remaining)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if address.bytes[index] & mask != block.network[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    /// Equal when they hold the same blocks in the same order.
    public static func == (lhs: TrustedProxies, rhs: TrustedProxies) -> Bool {
        lhs.blocks.count == rhs.blocks.count && zip(lhs.blocks, rhs.blocks).allSatisfy { $0.network == $1.network && $0.prefix == $1.prefix }
    }

    /// Hashes the blocks.
    public func hash(into hasher: inout Hasher) {
        for block in blocks {
            hasher.combine(block.network)
            hasher.combine(block.prefix)
        }
    }
}

extension HTTPField.Name {
    /// `Forwarded` (RFC 7239).
    public static let forwarded = HTTPField.Name("Forwarded")!
    /// `X-Forwarded-For`.
    public static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// Who sent a request: the peer, or, when the peer is a trusted proxy, the hop before the
/// trusted ones in its forwarding header.
///
/// The rules, so that a client cannot choose its own key:
/// - an untrusted peer is the client, whatever headers it sends;
/// - a trusted peer's `Forwarded` (RFC 7239, the `for=` of each element) is read, or when it has
///   none, its `X-Forwarded-For`; every field line of the header, in order, as one list;
/// - the list is read right to left, skipping trusted hops: the first untrusted hop is the
///   client; when every hop is trusted, the leftmost is;
/// - a hop that is not an IP address (`unknown`, an obfuscated `_name`, garbage) ends the walk
///   there: the last address read (a trusted proxy) is the client, since nothing to its left
///   can be believed;
/// - a `Forwarded` header that does not parse is ignored and `X-Forwarded-For` read instead.
public enum ClientAddress {
    /// The client's address for a request from `peer` carrying `fields`; `nil` when the peer's
    /// address is unknown (a Unix socket) and no trusted header says.
    public static func resolve(peer: IPAddress?, fields: HTTPFields, trusted: TrustedProxies) -> IPAddress? {
        guard let peer else { return nil }
        guard trusted.contains(peer) else { return peer }
        let hops = forwardedHops(fields) ?? fields[values: .xForwardedFor].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingSpaces
        }
        var client = peer
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { return client }
            client = address
            if !trusted.contains(address) { return address }
        }
        return client
    }

    /// The `for=` values of every `Forwarded` element, in order; `nil` when there is no such
    /// header or it does not parse (then `X-Forwarded-For` is read).
    static func forwardedHops(_ fields: HTTPFields) -> [String]? {
        let lines = fields[values: .forwarded]
        guard !lines.isEmpty else { return nil }
        var hops: [String] = []
        for element in lines.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            var found: String?
            for pair in element.split(separator: ";", omittingEmptySubsequences: false) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { return nil }
                let key = parts[0].trimmingSpaces.lowercased()
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter }) else { return nil }
                var value = parts[1].trimmingSpaces
                if value.hasPrefix("\"") {
                    guard value.count >= 2, value.hasSuffix("\"") else { return nil }
                    value = String(value.dropFirst().dropLast())
                }
                if key == "for" {
                    // An IPv6 node is "[addr]" or "[addr]:port"; an IPv4 one may carry ":port".
                    if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
                        value = String(value[value.index(after: value.startIndex)..<close])
                    } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
                        value = String(value[..<colon])
                    }
                    found = value
                }
            }
            if let found { hops.append(found) }
        }
        return hops
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
