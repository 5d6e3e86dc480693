public import BulwarkCore
public import NIOCore
public import NIOPosix

/// A small Redis client over SwiftNIO: RESP3 (RESP2 with older servers), pipelined connection
/// pools, deadlines, reconnection with back-off, scripts by SHA, and Redis Cluster.
///
///     let redis = try RedisClient(configuration: RedisConfiguration(endpoints: [RedisEndpoint(host: "localhost")]))
///     let reply = try await redis.send(["INCR", "visits"], key: "visits")
///     await redis.shutdown()
///
/// It is what Bulwark's Redis limiters need, not a general-purpose client: no pub/sub, no
/// transactions, no TLS. Every command has a deadline (``RedisConfiguration/commandTimeout`` unless
/// the caller gives a shorter `timeout`); see ``RedisError`` for what a failure means.
public final class RedisClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: RedisConfiguration
    let group: any EventLoopGroup
    private let pools: LockedValue<[RedisEndpoint: RedisConnectionPool]>
    private let cluster: RedisClusterMap?

    /// An executor on one of the client's event loops, for a caller that wants its round trips
    /// without thread hand-offs: its commands go to a connection on that loop (one is made there
    /// if need be), and their replies resume it on the same thread.
    ///
    ///     let decision = try await withTaskExecutorPreference(redis.taskExecutor) {
    ///         try await limiter.tryAcquire()
    ///     }
    ///
    /// Code under the preference runs on the event loop: keep blocking or CPU-heavy work off it.
    /// See the guide's figures (docs/Redis.md, "Measured") for what it saves.
    public let taskExecutor: EventLoopTaskExecutor

    /// Creates a client; connections are made on first use.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a configuration that breaks
    ///   a rule.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(BulwarkError) {
        try configuration.validate()
        self.configuration = configuration
        self.group = eventLoopGroup
        self.pools = LockedValue([:])
        self.cluster = configuration.cluster ? RedisClusterMap(seeds: configuration.endpoints) : nil
        self.taskExecutor = EventLoopTaskExecutor(eventLoopGroup.next())
    }

    /// Sends one command and returns its reply; an error reply throws ``RedisError/reply(_:)``'s error
    /// (``RedisError/unavailable(_:)`` for a server that cannot serve now, else ``RedisError/server(_:)``).
    ///
    /// - Parameters:
    ///   - arguments: The command and its arguments, e.g. `["GET", "k"]`.
    ///   - key: A key the command touches: routes it to its slot's master in a cluster.
    ///   - timeout: How long to wait for the reply, in place of the configured command timeout.
    public func send(_ arguments: [String], key: String? = nil, timeout: Duration? = nil) async throws(RedisError)
        -> RESPValue
    {
        try await execute(arguments, key: key, deadline: deadline(timeout))
    }

    /// Runs `script` by `EVALSHA`, falling back to `EVAL` when the server does not have it cached.
    ///
    /// In a cluster every key must hash to one slot (give them one hash tag): the script runs on
    /// that slot's master.
    public func evaluate(
        _ script: RedisScript,
        keys: [String],
        arguments: [String],
        timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        let deadline = deadline(timeout)
        let count = String(keys.count)
        do {
            return try await execute(["EVALSHA", script.sha1, count] + keys + arguments, key: keys.first, deadline: deadline)
        } catch .server(let message) where message.hasPrefix("NOSCRIPT") {
            return try await execute(["EVAL", script.source, count] + keys + arguments, key: keys.first, deadline: deadline)
        }
    }

    /// Sends one command to one server, by passing the cluster's routing (`CLUSTER …`, `INFO`,
    /// `SCRIPT FLUSH` on a given node).
    public func send(_ arguments: [String], to endpoint: RedisEndpoint, timeout: Duration? = nil) async throws(RedisError)
        -> RESPValue
    {
        let deadline = deadline(timeout)
        let connection = try await pool(for: endpoint).connection(deadline: deadline)
        return try await connection.call(arguments, deadline: deadline)
    }

    /// The masters currently known to serve slots (a cluster), or the configured server.
    public var nodes: [RedisEndpoint] {
        guard let cluster else { return configuration.endpoints }
        return cluster.knownNodes
    }

    /// Re-reads a cluster's slot map now (it is also re-read after every redirect).
    public func refreshClusterMap() async {
        await refreshMap(force: true)
    }

    /// Closes every connection. Commands sent afterwards fail with ``RedisError/shutDown``.
    public func shutdown() async {
        let all = pools.withLock { Array($0.values) }
        for pool in all { await pool.shutdown() }
    }

    // MARK: Routing

    private func deadline(_ timeout: Duration?) -> NIODeadline {
        .now() + TimeAmount(timeout ?? configuration.commandTimeout)
    }

    private func pool(for endpoint: RedisEndpoint) -> RedisConnectionPool {
        pools.withLock { pools in
            if let pool = pools[endpoint] { return pool }
            let pool = RedisConnectionPool(endpoint: endpoint, configuration: configuration, group: group)
            pools[endpoint] = pool
            return pool
        }
    }

    private func execute(_ arguments: [String], key: String?, deadline: NIODeadline) async throws(RedisError) -> RESPValue {
        guard let cluster else {
            let connection = try await pool(for: configuration.endpoints[0]).connection(deadline: deadline)
            return try await connection.call(arguments, deadline: deadline)
        }
        let slot = key.map(RedisKeySlot.of) ?? 0
        if cluster.owner(of: slot) == nil { await refreshMap(force: false) }
        var target = cluster.owner(of: slot) ?? cluster.knownNodes[0]
        var asking = false
        var redirects = 0
        while true {
            let reply: RESPValue
            do {
                let connection = try await pool(for: target).connection(deadline: deadline)
                var bytes = RESPCommand.encode(arguments, allocator: connection.channel.allocator)
                if asking {
                    var both = RESPCommand.encode(["ASKING"], allocator: connection.channel.allocator)
                    both.writeBuffer(&bytes)
                    bytes = both
                }
                reply = try await connection.send(bytes, replies: asking ? 2 : 1, deadline: deadline)
            } catch {
                // A master that cannot be reached or does not answer may be failing over, and no
                // MOVED will say so while it is down: re-read the map from the other nodes (at
                // most every 100 ms) so that later calls go to the replica it promotes.
                if error != .shutDown { Task { await self.refreshMap(force: false) } }
                throw error
            }
            guard case .error(let message) = reply else { return reply }
            let words = message.split(separator: " ")
            let kind = words.first ?? ""
            guard kind == "MOVED" || kind == "ASK" || kind == "TRYAGAIN" || kind == "CLUSTERDOWN",
                redirects < configuration.maximumRedirects
            else {
                // A demoted master (READONLY) or a node that lost its quorum: the map is stale.
                if RedisError.isUnavailableReply(message) { Task { await self.refreshMap(force: false) } }
                throw .reply(message)
            }
            redirects += 1
            // A migration or a failover in progress, or (a second MOVED in a row) masters that do
            // not yet agree who owns the slot, as while a slot's new owner is being announced:
            // wait a little, within the deadline, rather than spend the redirects ping-ponging.
            if kind == "TRYAGAIN" || kind == "CLUSTERDOWN" || (kind == "MOVED" && redirects > 1) {
                let pause = TimeAmount.milliseconds(10 << min(redirects, 5))
                guard NIODeadline.now() + pause < deadline else { throw .reply(message) }
                try? await Task.sleep(for: .nanoseconds(pause.nanoseconds))
                if kind == "TRYAGAIN" || kind == "CLUSTERDOWN" {
                    asking = false
                    continue
                }
            }
            guard words.count >= 3, let movedSlot = Int(words[1]), let endpoint = Self.endpoint(words[2]) else {
                throw .protocolViolation("a malformed redirect: \(message)")
            }
            asking = kind == "ASK"
            target = endpoint
            if kind == "MOVED" {
                cluster.moved(slot: movedSlot, to: endpoint)
                Task { await self.refreshMap(force: false) }
            }
        }
    }

    /// `host:port` (an IPv6 host keeps its colons); an empty host is the redirecting server's.
    private static func endpoint(_ text: Substring) -> RedisEndpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        return RedisEndpoint(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }

    private func refreshMap(force: Bool) async {
        guard let cluster, cluster.beginRefresh(interval: force ? .zero : .milliseconds(100)) else { return }
        for node in cluster.knownNodes {
            let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
            guard let connection = try? await pool(for: node).connection(deadline: deadline) else { continue }
            var ranges: [(ClosedRange<Int>, RedisEndpoint)]?
            if let shards = try? await connection.call(["CLUSTER", "SHARDS"], deadline: deadline) {
                ranges = RedisClusterMap.parseShards(shards)
            }
            if ranges == nil || ranges!.isEmpty, let slots = try? await connection.call(["CLUSTER", "SLOTS"], deadline: deadline) {
                ranges = RedisClusterMap.parseSlots(slots)
            }
            if let ranges, !ranges.isEmpty {
                cluster.finishRefresh(ranges)
                return
            }
        }
        cluster.finishRefresh(nil)
    }
}
