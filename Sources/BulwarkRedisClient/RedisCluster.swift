import BulwarkCore
import NIOCore

/// Redis Cluster's key space: 16,384 slots, a key's slot the CRC16 of its hash tag (the part between
/// the first `{` and the next `}`, when not empty) or of the whole key.
public enum RedisKeySlot {
    /// The number of slots in a cluster.
    public static let count = 16384

    /// The slot `key` belongs to.
    public static func of(_ key: String) -> Int {
        var bytes = Substring(key).utf8[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")) {
            let rest = bytes[bytes.index(after: open)...]
            if let close = rest.firstIndex(of: UInt8(ascii: "}")), close != rest.startIndex {
                bytes = rest[rest.startIndex..<close]
            }
        }
        return Int(crc16(bytes) % UInt16(count))
    }

    /// CRC16-CCITT (XMODEM), the variant Redis Cluster uses.
    static func crc16(_ bytes: Substring.UTF8View.SubSequence) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}

/// Which master serves which slot, read from `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS`, and
/// corrected by the `MOVED` redirects the servers send.
final class RedisClusterMap: Sendable {
    private struct State {
        var owners: [RedisEndpoint?] = Array(repeating: nil, count: RedisKeySlot.count)
        var known: [RedisEndpoint]
        var refreshing = false
        var lastRefresh: NIODeadline = .distantPast
    }

    private let state: LockedValue<State>

    init(seeds: [RedisEndpoint]) {
        state = LockedValue(State(known: seeds))
    }

    /// The master of `slot`, if known.
    func owner(of slot: Int) -> RedisEndpoint? {
        state.withLock { $0.owners[slot] }
    }

    /// The servers worth asking for the map: every master seen, then the seeds.
    var knownNodes: [RedisEndpoint] { state.withLock { $0.known } }

    /// Records a `MOVED slot host:port` redirect.
    func moved(slot: Int, to endpoint: RedisEndpoint) {
        state.withLock { state in
            state.owners[slot] = endpoint
            if !state.known.contains(endpoint) { state.known.insert(endpoint, at: 0) }
        }
    }

    /// Whether a refresh may start now (one at a time, at most every `interval`); the caller must
    /// then call `finishRefresh(_:)`.
    func beginRefresh(interval: TimeAmount) -> Bool {
        state.withLock { state in
            let now = NIODeadline.now()
            guard !state.refreshing, now - state.lastRefresh >= interval else { return false }
            state.refreshing = true
            return true
        }
    }

    /// Installs a fresh map (`nil`: the refresh failed, keep the old one).
    func finishRefresh(_ ranges: [(ClosedRange<Int>, RedisEndpoint)]?) {
        state.withLock { state in
            state.refreshing = false
            state.lastRefresh = .now()
            guard let ranges else { return }
            var owners = [RedisEndpoint?](repeating: nil, count: RedisKeySlot.count)
            for (range, endpoint) in ranges {
                for slot in range where slot < RedisKeySlot.count { owners[slot] = endpoint }
                if !state.known.contains(endpoint) { state.known.insert(endpoint, at: 0) }
            }
            state.owners = owners
        }
    }

    /// The slot ranges and their masters in a `CLUSTER SHARDS` reply (RESP2 or RESP3).
    static func parseShards(_ reply: RESPValue) -> [(ClosedRange<Int>, RedisEndpoint)]? {
        guard let shards = reply.array else { return nil }
        var ranges: [(ClosedRange<Int>, RedisEndpoint)] = []
        for shard in shards {
            guard let fields = dictionary(shard), let slots = fields["slots"]?.array,
                let nodes = fields["nodes"]?.array
            else { return nil }
            let master = nodes.compactMap(dictionary).first { node in
                node["role"]?.string == "master" && (node["health"]?.string ?? "online") == "online"
            }
            guard let master, let port = master["port"]?.integer ?? master["tls-port"]?.integer,
                let host = master["ip"]?.string ?? master["endpoint"]?.string
            else { continue }
            var index = 0
            while index + 1 < slots.count {
                if let low = slots[index].integer, let high = slots[index + 1].integer, low <= high {
                    ranges.append((Int(low)...Int(high), RedisEndpoint(host: host, port: Int(port))))
                }
                index += 2
            }
        }
        return ranges
    }

    /// The slot ranges and their masters in a `CLUSTER SLOTS` reply.
    static func parseSlots(_ reply: RESPValue) -> [(ClosedRange<Int>, RedisEndpoint)]? {
        guard let entries = reply.array else { return nil }
        var ranges: [(ClosedRange<Int>, RedisEndpoint)] = []
        for entry in entries {
            guard let fields = entry.array, fields.count >= 3, let low = fields[0].integer, let high = fields[1].integer,
                let master = fields[2].array, master.count >= 2, let host = master[0].string,
                let port = master[1].integer, low <= high
            else { return nil }
            ranges.append((Int(low)...Int(high), RedisEndpoint(host: host, port: Int(port))))
        }
        return ranges
    }

    /// A flat key-value list (RESP2) or a map (RESP3) as a dictionary by key.
    private static func dictionary(_ value: RESPValue) -> [String: RESPValue]? {
        guard let flat = value.array, flat.count % 2 == 0 else { return nil }
        var fields: [String: RESPValue] = [:]
        var index = 0
        while index < flat.count {
            if let key = flat[index].string { fields[key] = flat[index + 1] }
            index += 2
        }
        return fields
    }
}
