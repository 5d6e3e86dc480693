import BulwarkCore

/// Where a Redis server listens.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}

/// How ``RedisClient`` reaches Redis: the servers, the credentials, the pool and the time limits.
///
///     let redis = try RedisClient(configuration: RedisConfiguration(
///         endpoints: [RedisEndpoint(host: "10.0.0.5")], poolSize: 4, commandTimeout: .milliseconds(50)
///     ))
///
/// With `cluster: true` the endpoints are seeds: the client reads the slot map from any of them and
/// keeps a pool per master.
public struct RedisConfiguration: Sendable {
    /// The server (or, for a cluster, the seed nodes to read the slot map from).
    public var endpoints: [RedisEndpoint]
    /// Whether the endpoints belong to a Redis Cluster.
    public var cluster: Bool
    /// The user for `AUTH` (Redis 6 ACLs); `nil` is the default user.
    public var username: String?
    /// The password for `AUTH`; `nil` when the server wants none.
    public var password: String?
    /// The database to `SELECT` (standalone servers only; a cluster has only database 0).
    public var database: Int
    /// Connections per server. Each carries any number of commands at once (pipelining), so a few
    /// are enough: more spread the load over the server's I/O threads and the client's event loops.
    public var poolSize: Int
    /// How long a connection attempt (TCP and handshake) may take.
    public var connectTimeout: Duration
    /// How long a command may wait for its reply when the caller gives no deadline of its own.
    public var commandTimeout: Duration
    /// The first wait before reconnecting to a server that refused or timed out; it doubles on each
    /// failure up to ``maximumReconnectBackoff``. While a server is backed off, commands for it fail
    /// at once with ``RedisError/unavailable(_:)``: a dead server never holds a caller.
    public var reconnectBackoff: Duration
    /// The longest wait between reconnection attempts.
    public var maximumReconnectBackoff: Duration
    /// How many `MOVED`/`ASK` redirects one command may follow before failing.
    public var maximumRedirects: Int
    /// The longest bulk string, the largest count of an aggregate (an array's, a set's or a push's
    /// elements, a map's or an attribute's entries) and the longest line a reply may have, in
    /// bytes or elements; by default 512 MB, Redis' own `proto-max-bulk-len`.
    ///
    /// A reply beyond it, or a line without CRLF already longer, is not waited for: the command
    /// fails with ``RedisError/protocolViolation(_:)`` naming the rule, as does every other command
    /// in flight on that connection, and the connection closes. A broken proxy or a hostile server
    /// can thus neither crash the process nor make it buffer without bound. It does not bound the
    /// total size of a reply: an array may hold that many elements, each that long.
    public var maximumReplyLength: Int

    /// Creates a configuration; ``RedisClient`` validates it.
    public init(
        endpoints: [RedisEndpoint] = [RedisEndpoint(host: "127.0.0.1")],
        cluster: Bool = false,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        poolSize: Int = 4,
        connectTimeout: Duration = .seconds(1),
        commandTimeout: Duration = .milliseconds(250),
        reconnectBackoff: Duration = .milliseconds(50),
        maximumReconnectBackoff: Duration = .seconds(5),
        maximumRedirects: Int = 5,
        maximumReplyLength: Int = 536_870_912
    ) {
        self.endpoints = endpoints
        self.cluster = cluster
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoff = reconnectBackoff
        self.maximumReconnectBackoff = maximumReconnectBackoff
        self.maximumRedirects = maximumRedirects
        self.maximumReplyLength = maximumReplyLength
    }

    /// Throws `BulwarkError/invalidConfiguration(field:rule:)` for the first field that breaks its rule.
    func validate() throws(BulwarkError) {
        if endpoints.isEmpty { throw .invalidConfiguration(field: "endpoints", rule: "must name at least one server") }
        for endpoint in endpoints where endpoint.host.isEmpty || !(1...65535).contains(endpoint.port) {
            throw .invalidConfiguration(field: "endpoints", rule: "each needs a host and a port in 1...65535, got \(endpoint)")
        }
        if database < 0 { throw .invalidConfiguration(field: "database", rule: "must be at least 0, got \(database)") }
        if cluster, database != 0 {
            throw .invalidConfiguration(field: "database", rule: "must be 0 on a cluster, got \(database)")
        }
        if !(1...1024).contains(poolSize) {
            throw .invalidConfiguration(field: "poolSize", rule: "must be in 1...1024, got \(poolSize)")
        }
        for (field, value) in [
            ("connectTimeout", connectTimeout), ("commandTimeout", commandTimeout), ("reconnectBackoff", reconnectBackoff),
        ] where value <= .zero {
            throw .invalidConfiguration(field: field, rule: "must be positive, got \(value)")
        }
        if maximumReconnectBackoff < reconnectBackoff {
            throw .invalidConfiguration(field: "maximumReconnectBackoff", rule: "must be at least reconnectBackoff")
        }
        if maximumRedirects < 0 {
            throw .invalidConfiguration(field: "maximumRedirects", rule: "must be at least 0, got \(maximumRedirects)")
        }
        if maximumReplyLength < 1 {
            throw .invalidConfiguration(field: "maximumReplyLength", rule: "must be at least 1, got \(maximumReplyLength)")
        }
    }
}
