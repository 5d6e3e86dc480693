// Child processes for the tests that meet a program as its users do: the package's own
// executables (built beside the test binary) and the system's clients (curl, wrk, python3).
package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The package's executable `name`, built beside this test binary (`swift build --build-tests`
/// builds every executable of the package).
package func builtExecutable(_ name: String) -> URL {
    let binary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    var directory = binary.deletingLastPathComponent()
    // The test bundle may be a directory (…/BulwarkPackageTests.xctest/Contents/MacOS/…).
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), directory.pathComponents.count > 1 {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent(name)
}

/// Runs `program` (a path, or a name looked up in `PATH`) with `arguments` to its end; its
/// standard output, trimmed (its standard error is dropped).
package func runProgram(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// ``runProgram(_:_:)`` off the concurrency pool, for a test that awaits it.
package func run(_ program: String, _ arguments: [String]) async throws -> String {
    try await offPool { try runProgram(program, arguments) }
}

/// A TCP port on the loopback interface that nothing listened on a moment ago (the kernel's
/// choice for a socket bound to port 0, closed at once).
package func freeLoopbackPort() -> Int? {
    #if canImport(Glibc)
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    #else
    return nil
    #endif
}

/// A package executable started as a server on a loopback port, its output kept in a log file:
/// up once `GET /health/live` answers 200.
package final class LiveServer: @unchecked Sendable {
    /// `http://127.0.0.1:<port>`.
    package let base: String
    private let process = Process()
    private let log: URL

    /// Starts `executable` with `arguments` and `environment` (added to this process'), serving
    /// on `port`; waits until it answers (for at most two minutes: a sanitized build starts
    /// slowly), else throws with its output.
    package init(_ executable: String, arguments: [String] = [], environment: [String: String] = [:], port: Int) async throws {
        base = "http://127.0.0.1:\(port)"
        log = FileManager.default.temporaryDirectory.appendingPathComponent("\(executable)-\(port)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = builtExecutable(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0 ..< 1_200 where process.isRunning {
            if try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/health/live"]) == "200" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw LiveServerError(output: output)
    }

    /// What the server printed so far.
    package var output: String { String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self) }

    /// Whether the process is still running.
    package var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and returns at once (a graceful shutdown under way).
    package func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// Stops the server (SIGTERM), waits for it, and removes its log.
    package func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }
}

/// A server that did not start, with what it printed.
package struct LiveServerError: Error, CustomStringConvertible {
    package let output: String
    package var description: String { "the server did not start: \(output)" }
}
