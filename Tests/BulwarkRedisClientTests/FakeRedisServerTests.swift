import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import BulwarkRedisClient

/// The real client against a server that misbehaves: the process survives, and every call ends
/// with the error that says what happened, by its deadline.
///
/// Real time on real sockets, so the bounds are generous and only the outcome is asserted: the
/// server first passes the handshake (a Redis 5 that does not know `HELLO`: RESP2) and answers a
/// `PING` with a generous timeout, so the connection exists before the misbehaviour begins.
@Suite("Redis client against a misbehaving server", .timeLimit(minutes: 2))
struct FakeRedisServerTests {
    /// A client of one connection with a short command deadline and a generous connect one.
    static func client(_ server: FakeRedisServer, maximumReplyLength: Int = 536_870_912) throws -> RedisClient {
        try RedisClient(configuration: RedisConfiguration(
            endpoints: [server.endpoint], poolSize: 1, connectTimeout: busy(.seconds(30)), commandTimeout: .milliseconds(500),
            reconnectBackoff: .milliseconds(20), maximumReconnectBackoff: .milliseconds(200), maximumReplyLength: maximumReplyLength
        ))
    }

    /// The handshake and a `PING` answered, within a generous bound on a loaded machine.
    static func connect(_ redis: RedisClient) async throws {
        #expect(try await redis.send(["PING"], timeout: busy(.seconds(30))).string == "PONG")
    }

    @Test(
        "a bulk length of Int64.max, or an unknown type byte, is a protocol violation naming the rule; the connection is closed",
        arguments: [
            (.overflowingHeader, "bulk length 9223372036854775807 above the maximum 536870912"),
            (.garbage, "unexpected byte 0x3F ('?')"),
        ] as [(FakeRedisServer.Behaviour, String)]
    )
    func violation(_ behaviour: FakeRedisServer.Behaviour, rule: String) async throws {
        let server = try await FakeRedisServer.start(behaviour)
        let redis = try Self.client(server)
        try await Self.connect(redis)
        // The reply comes at once: a generous deadline, so that a slow machine cannot turn the
        // violation into a timeout.
        await #expect {
            _ = try await redis.send(["GET", "k"], timeout: busy(.seconds(30)))
        } throws: { error in
            guard case RedisError.protocolViolation(let reason) = error else { return false }
            return reason.contains(rule)
        }
        await eventually { server.closedConnections.value == 1 }
        await redis.shutdown()
        try await server.stop()
    }

    @Test("a server that never answers: the call times out by its deadline", arguments: [.silent, .halfReply] as [FakeRedisServer.Behaviour])
    func noReply(_ behaviour: FakeRedisServer.Behaviour) async throws {
        let server = try await FakeRedisServer.start(behaviour)
        let redis = try Self.client(server)
        try await Self.connect(redis)
        await #expect(throws: RedisError.timedOut) {
            _ = try await redis.send(["GET", "k"])
        }
        // The connection owed a reply it will never get is closed, not reused.
        await eventually { server.closedConnections.value == 1 }
        await redis.shutdown()
        try await server.stop()
    }

    @Test(
        "misbehaving in the handshake: the connection is unavailable, with the reason",
        arguments: [.overflowingHeader, .garbage, .silent, .halfReply] as [FakeRedisServer.Behaviour]
    )
    func inHandshake(_ behaviour: FakeRedisServer.Behaviour) async throws {
        let server = try await FakeRedisServer.start(behaviour, inHandshake: true)
        let redis = try Self.client(server)
        // A reply that breaks a rule ends the attempt at once: a generous deadline, so that a slow
        // machine cannot turn it into a connect timeout. Silence and half a reply end at the deadline.
        let answers = behaviour == .overflowingHeader || behaviour == .garbage
        await #expect {
            _ = try await redis.send(["PING"], timeout: answers ? busy(.seconds(30)) : .milliseconds(500))
        } throws: { error in
            guard case RedisError.unavailable(let reason) = error else { return false }
            if behaviour == .overflowingHeader { return reason.contains("bulk length 9223372036854775807 above the maximum 536870912") }
            if behaviour == .garbage { return reason.contains("unexpected byte 0x3F ('?')") }
            return true
        }
        await redis.shutdown()
        try await server.stop()
    }

    @Test("maximumReplyLength reaches the parser: a bulk string one byte longer is refused")
    func configuredMaximum() async throws {
        let payload = String(repeating: "x", count: 100)
        let server = try await FakeRedisServer.start(.reply("$100\r\n\(payload)\r\n"))
        let generous = try Self.client(server, maximumReplyLength: 100)
        try await Self.connect(generous)
        #expect(try await generous.send(["GET", "k"], timeout: busy(.seconds(30))).string == payload)
        await generous.shutdown()

        let strict = try Self.client(server, maximumReplyLength: 99)
        try await Self.connect(strict)
        await #expect {
            _ = try await strict.send(["GET", "k"], timeout: busy(.seconds(30)))
        } throws: { error in
            guard case RedisError.protocolViolation(let reason) = error else { return false }
            return reason.contains("bulk length 100 above the maximum 99")
        }
        await strict.shutdown()
        try await server.stop()
    }

    @Test("maximumReplyLength must be at least 1")
    func validation() {
        for invalid in [0, -1, Int.min] {
            #expect {
                _ = try RedisClient(configuration: RedisConfiguration(maximumReplyLength: invalid))
            } throws: { error in
                guard case .invalidConfiguration(let field, _) = error as? BulwarkError else { return false }
                return field == "maximumReplyLength"
            }
        }
        #expect(RedisConfiguration().maximumReplyLength == 536_870_912)
    }
}
