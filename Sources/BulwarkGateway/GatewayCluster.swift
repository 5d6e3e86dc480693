public import BulwarkCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import UnixSignals

/// `bulwark-gateway cluster`: a `redis-server` and a number of gateway nodes on consecutive
/// ports, all sharing it, supervised. Each node is this executable run again with the same
/// configuration and `--redis-port`, `--port`, `--node`; the cluster checks every node's
/// `GET /health/live` each second and restarts a node whose process exited or that failed three
/// checks in a row (killing it first). On SIGTERM or SIGINT it stops the nodes (each finishing its
/// requests in flight), then Redis.
public struct GatewayCluster: Service {
    /// The executable the nodes run (this one).
    public var executable: String
    /// The configuration file the nodes read; `nil` for the built-in demo configuration.
    public var configuration: String?
    /// How many nodes.
    public var nodes: Int
    /// The first node's port; node `i` listens on `port + i`.
    public var port: Int
    /// The address the nodes listen on.
    public var host: String
    /// The port `redis-server` is started on.
    public var redisPort: Int
    /// The first node's quotas admin page port (node `i`: `adminPort + i`; `bulwark-gateway
    /// cluster` sets 9080); `nil` keeps the configuration's, which only one node can then bind.
    public var adminPort: Int?

    /// A cluster; nothing starts before ``run()``.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for fewer than 1 or more than 64
    ///   nodes, or ports outside 1...65535.
    public init(executable: String, configuration: String?, nodes: Int, port: Int, host: String, redisPort: Int) throws(BulwarkError) {
        guard (1 ... 64).contains(nodes) else { throw .invalidConfiguration(field: "nodes", rule: "must be in 1...64") }
        guard (1 ... 65_535 - nodes).contains(port) else { throw .invalidConfiguration(field: "port", rule: "must leave room for every node below 65536") }
        guard (1 ... 65_535).contains(redisPort) else { throw .invalidConfiguration(field: "redis-port", rule: "must be in 1...65535") }
        self.executable = executable
        self.configuration = configuration
        self.nodes = nodes
        self.port = port
        self.host = host
        self.redisPort = redisPort
    }

    /// The name of node `index`: `a`, `b`, … `z`, then `node-26`, ….
    public static func name(_ index: Int) -> String {
        index < 26 ? String(UnicodeScalar(UInt8(97 + index))) : "node-\(index)"
    }

    /// Runs the cluster until SIGTERM or SIGINT.
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(
            services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "bulwark.gateway.cluster")
        )
        try await group.run()
    }

    /// Starts Redis and the nodes, supervises them until graceful shutdown, then stops them.
    public func run() async throws {
        let logger = Logger(label: "bulwark.gateway.cluster")
        let redis = try Self.start("redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no"])
        defer { Self.stop([redis]) }
        var processes: [pid_t] = []
        defer { Self.stop(processes) }
        for index in 0 ..< nodes { processes.append(try start(index)) }
        logger.info("cluster started", metadata: ["nodes": "\(nodes)", "ports": "\(port)...\(port + nodes - 1)", "redis": "\(redisPort)"])
        var failures = [Int](repeating: 0, count: nodes)
        var booting = [Int](repeating: 30, count: nodes)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            for index in 0 ..< nodes {
                let alive = Self.isRunning(processes[index])
                let healthy = alive ? await live(index) : false
                if healthy {
                    (failures[index], booting[index]) = (0, 0)
                    continue
                }
                // A node starting has 30 s to answer; a running one three checks.
                if alive, booting[index] > 0 {
                    booting[index] -= 1
                    continue
                }
                failures[index] += 1
                guard !alive || failures[index] >= 3 else { continue }
                logger.warning("restarting node", metadata: ["node": "\(Self.name(index))", "reason": "\(alive ? "failed 3 health checks" : "exited")"])
                Self.stop([processes[index]])
                if let process = try? start(index) {
                    processes[index] = process
                    (failures[index], booting[index]) = (0, 30)
                }
            }
        }
        logger.info("cluster stopping")
    }

    private func start(_ index: Int) throws -> pid_t {
        var arguments = ["--redis-port", String(redisPort), "--port", String(port + index), "--host", host, "--node", Self.name(index)]
        if let configuration { arguments += ["--config", configuration] }
        if let adminPort { arguments += ["--admin-port", String(adminPort + index)] }
        return try Self.start(executable, arguments)
    }

    private func live(_ index: Int) async -> Bool {
        let request = HTTPClientRequest(url: "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port + index)/health/live")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status.code == 200
    }

    /// Starts `executable` (searched in `PATH`) with SIGTERM and SIGINT at their defaults and
    /// unblocked: the thread spawning it may block them (a dispatch worker does), and a child
    /// inherits that mask.
    private static func start(_ executable: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, nil, &attributes, argv, environ)
        guard result == 0 else { throw ClusterError(description: "could not start \(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Whether `pid` still runs (reaping it once it has exited).
    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGTERM to each, up to 10 s for all to finish, then SIGKILL to the rest.
    private static func stop(_ processes: [pid_t]) {
        var running = processes.filter(isRunning)
        for pid in running { kill(pid, SIGTERM) }
        for _ in 0 ..< 100 where !running.isEmpty {
            usleep(100_000)
            running = running.filter(isRunning)
        }
        for pid in running {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// A process the cluster could not start.
struct ClusterError: Error, CustomStringConvertible {
    var description: String
}
