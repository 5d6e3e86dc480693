package import BulwarkRedisClient
import BulwarkTestSupport
package import Foundation
import Testing

/// A `redis-server` of the tests' own, on a free loopback port, without persistence; stopped by
/// ``stop()`` (or when the test process ends). A missing `redis-server` fails the test: CI installs
/// it, and a skipped Redis suite would pass for nothing.
package final class RedisServer: @unchecked Sendable {
    package let port: Int
    package let directory: URL
    private let extraArguments: [String]
    /// The `--requirepass` among the arguments, for `redis-cli`.
    private var password: String? {
        guard let index = extraArguments.firstIndex(of: "--requirepass"), index + 1 < extraArguments.count else { return nil }
        return extraArguments[index + 1]
    }

    package var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    /// The server most suites share (each test uses its own keys).
    package static let shared: RedisServer? = try? RedisServer.start()

    /// The shared server, or a recorded failure saying why there is none.
    package static func sharedOrFail() throws -> RedisServer {
        guard let shared else {
            Issue.record("redis-server could not be started: install it (apt-get install -y redis-server redis-tools)")
            throw CancellationError()
        }
        return shared
    }

    private init(port: Int, directory: URL, extraArguments: [String]) {
        self.port = port
        self.directory = directory
        self.extraArguments = extraArguments
    }

    /// Starts a server on a free port (retrying another port if the one picked was taken meanwhile).
    package static func start(_ extraArguments: [String] = [], ports: ClosedRange<Int> = 20_000...60_000) throws -> RedisServer {
        var lastError: any Error = CocoaError(.fileNoSuchFile)
        for _ in 0..<10 {
            let port = Int.random(in: ports)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-redis-\(port)-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisServer(port: port, directory: directory, extraArguments: extraArguments)
            do {
                try server.launch()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// The server's process id, read from `INFO server` once it answers.
    private(set) var pid: Int32 = 0

    /// Starts (or restarts, after ``kill()``) the server on this server's port.
    ///
    /// A small shell watches the test process and kills the server when the tests end, however
    /// they end: a shared server has no other owner to stop it.
    package func launch() throws {
        let command = (["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "''", "--appendonly", "no",
            "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning"] + extraArguments).joined(separator: " ")
        let watcher = "\(command) >/dev/null 2>&1 & r=$!; "
            + "while kill -0 \(ProcessInfo.processInfo.processIdentifier) 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.2; done; "
            + "kill -9 $r 2>/dev/null"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", watcher]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<250 {
            if !process.isRunning { throw RedisServerError.exited(port) }
            let reply = (try? cli(["PING"])) ?? ""
            if reply == "PONG" || reply.contains("NOAUTH") || reply.hasPrefix("MASTERDOWN") {
                let info = try cli(["INFO", "server"])
                guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("process_id:") }),
                    let pid = Int32(line.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
                else { throw RedisServerError.notReady(port) }
                self.pid = pid
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw RedisServerError.notReady(port)
    }

    /// Kills the server at once (SIGKILL): what a crash looks like to clients.
    package func kill() {
        guard pid != 0 else { return }
        Foundation.kill(pid, SIGKILL)
        // Until it no longer answers (a `where` clause here would spawn all 250 `redis-cli`s).
        for _ in 0..<250 {
            guard (try? cli(["PING"])) == "PONG" else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        pid = 0
    }

    /// Stops the server (nothing is persisted, so a kill loses nothing).
    package func stop() {
        if pid != 0 { Foundation.kill(pid, SIGKILL) }
        pid = 0
    }

    /// Runs `redis-cli` against this server and returns its output, trimmed.
    @discardableResult
    package func cli(_ arguments: [String]) throws -> String {
        let auth = password.map { ["-a", $0, "--no-auth-warning"] } ?? []
        return try RedisServer.run("redis-cli", ["-h", "127.0.0.1", "-p", String(port)] + auth + arguments)
    }

    /// Runs a program found on the PATH; its standard output, trimmed.
    package static func run(_ program: String, _ arguments: [String]) throws -> String {
        try runProgram(program, arguments)
    }

    /// A client for this server.
    package func client(
        poolSize: Int = 2,
        commandTimeout: Duration = busy(.seconds(60)),
        password: String? = nil,
        database: Int = 0
    ) throws -> RedisClient {
        try RedisClient(configuration: RedisConfiguration(
            endpoints: [endpoint], password: password, database: database, poolSize: poolSize,
            // A generous handshake bound: under the thread sanitizer on a busy machine a connection
            // and its HELLO take far longer than on an idle one.
            connectTimeout: busy(.seconds(30)), commandTimeout: commandTimeout, reconnectBackoff: .milliseconds(20),
            maximumReconnectBackoff: .milliseconds(200)
        ))
    }

    deinit {
        if pid != 0 { Foundation.kill(pid, SIGKILL) }
    }
}

package enum RedisServerError: Error {
    case exited(Int)
    case notReady(Int)
}

/// A real-time bound for a busy machine: `duration` in a plain run, five times it under the thread
/// sanitizer. A command's deadline runs from the moment it is asked, and under the sanitizer's
/// tenfold slowdown, with every suite sharing the concurrency pool's two threads, a task can wait
/// half a minute for a thread before it even sends; the bound is there to catch a hang.
package func busy(_ duration: Duration) -> Duration {
    isThreadSanitized ? duration * 5 : duration
}

/// A key prefix no other test uses.
package func uniquePrefix(_ name: String = #function) -> String {
    "test:\(name.prefix(while: { $0 != "(" })):\(UInt32.random(in: 0...UInt32.max))"
}


extension RedisServer {
    /// ``start(_:)`` off the concurrency pool.
    package static func started(_ extraArguments: [String] = []) async throws -> RedisServer {
        try await offPool { try RedisServer.start(extraArguments) }
    }

    /// The shared server, started off the concurrency pool.
    package static func shared() async throws -> RedisServer {
        try await offPool { try RedisServer.sharedOrFail() }
    }

    /// ``launch()`` off the concurrency pool.
    package func relaunch() async throws {
        try await offPool { try self.launch() }
    }

    /// ``kill()`` off the concurrency pool.
    package func crash() async throws {
        try await offPool { self.kill() }
    }

    /// ``cli(_:)`` off the concurrency pool.
    @discardableResult
    package func command(_ arguments: [String]) async throws -> String {
        try await offPool { try self.cli(arguments) }
    }
}
