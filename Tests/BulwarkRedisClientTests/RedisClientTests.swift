import BulwarkCore
import BulwarkRedisClient
import BulwarkRedisTestSupport
import Foundation
import NIOCore
import Testing

@Suite("Redis client, against a real redis-server")
struct RedisClientTests {
    @Test("RESP3 by HELLO 3; replies matched in order across a thousand pipelined commands")
    func pipelining() async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client(poolSize: 2)
        let key = uniquePrefix() + ":n"
        let hello = try await redis.send(["HELLO"])
        #expect(hello.array?.contains(.integer(3)) == true || hello.array?.contains(.bulkString(.init(string: "proto"))) == true)
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    // Each reply must be this command's own: the echo carries the index.
                    let echo = try await redis.send(["ECHO", String(index)], key: key)
                    #expect(echo.string == String(index))
                    return try await redis.send(["INCR", key], key: key).integer ?? -1
                }
            }
            var seen = Set<Int64>()
            for try await value in group { seen.insert(value) }
            #expect(seen == Set(1...1000))
        }
        await redis.shutdown()
    }

    @Test("a caller that prefers the client's task executor sends and resumes on its event loop; others keep to the pool")
    func taskExecutor() async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client(poolSize: 4)
        let key = uniquePrefix()
        // A connection made off the loop first: the caller on the loop must not depend on it.
        _ = try await redis.send(["SET", key, "0"], key: key)
        #expect(!redis.taskExecutor.eventLoop.inEventLoop)
        let resumedOnLoop = try await withTaskExecutorPreference(redis.taskExecutor) {
            var every = true
            for _ in 0..<50 {
                _ = try await redis.send(["INCR", key], key: key)
                every = every && redis.taskExecutor.eventLoop.inEventLoop
            }
            return every
        }
        #expect(resumedOnLoop)
        #expect(try await redis.send(["GET", key], key: key).string == "50")
        await redis.shutdown()
    }

    @Test("AUTH and SELECT in the handshake; a wrong password is a clear failure")
    func authAndSelect() async throws {
        let server = try await RedisServer.started(["--requirepass", "s3cret"])
        defer { server.stop() }
        let redis = try server.client(password: "s3cret", database: 3)
        _ = try await redis.send(["SET", "where", "db3"])
        #expect(try await server.command(["-n", "3", "GET", "where"]) == "db3")
        await redis.shutdown()

        let wrong = try server.client(password: "nope")
        await #expect {
            _ = try await wrong.send(["PING"])
        } throws: { error in
            guard case RedisError.unavailable(let reason) = error else { return false }
            return reason.contains("WRONGPASS") || reason.contains("invalid")
        }
        await wrong.shutdown()
    }

    @Test("a command past its deadline fails as uncertain; the connection is remade")
    func deadline() async throws {
        let server = try await RedisServer.shared()
        let redis = try server.client(poolSize: 1, commandTimeout: .milliseconds(100))
        _ = try await redis.send(["PING"], timeout: busy(.seconds(30)))
        let started = ContinuousClock.now
        await #expect(throws: RedisError.timedOut) {
            _ = try await redis.send(["BLPOP", uniquePrefix() + ":never", "120"])
        }
        // Order, not speed: the 100 ms deadline ended the call long before BLPOP's 120 s could.
        #expect(ContinuousClock.now - started < .seconds(60), "the deadline, not BLPOP's own timeout, ended the call")
        #expect(RedisError.timedOut.isUncertain)
        // A new connection (the timed-out one was closed), given time on a loaded machine.
        #expect(try await redis.send(["PING"], timeout: busy(.seconds(30))).string == "PONG")
        await redis.shutdown()
    }

    @Test("EVALSHA by the SHA computed here, EVAL after SCRIPT FLUSH")
    func scripts() async throws {
        // Its own server: it flushes scripts or counts commands, which other tests would disturb.
        let server = try await RedisServer.started()
        defer { server.stop() }
        let redis = try server.client()
        let script = RedisScript("return ARGV[1] + 1")
        #expect(try await redis.evaluate(script, keys: [], arguments: ["41"]).integer == 42)
        #expect(try await server.command(["SCRIPT", "EXISTS", script.sha1]) == "1")
        try await server.command(["SCRIPT", "FLUSH"])
        #expect(try await redis.evaluate(script, keys: [], arguments: ["1"]).integer == 2)
        await redis.shutdown()
    }

    @Test("a dead server fails callers at once; service resumes after its restart")
    func killAndRestart() async throws {
        let server = try await RedisServer.started()
        defer { server.stop() }
        let redis = try server.client(poolSize: 2, commandTimeout: .milliseconds(300))
        #expect(try await redis.send(["PING"], timeout: busy(.seconds(30))).string == "PONG")
        try await server.crash()
        // On the client's event loop, not Swift's concurrency pool: the time measured is the
        // client's, not a wait for one of the pool's two threads while other suites hold them (a
        // CI run once saw 10 s of such a wait).
        await withTaskExecutorPreference(redis.taskExecutor) {
            for _ in 0..<5 {
                let started = ContinuousClock.now
                do {
                    _ = try await redis.send(["PING"])
                    Issue.record("a dead server answered")
                } catch let error as RedisError {
                    #expect(!error.isUncertain || error == .connectionLost(error.description) || error == .timedOut)
                } catch {
                    Issue.record("not a RedisError: \(error)")
                }
                // Bounded by the 300 ms command deadline (not the 30 s connect bound): generous
                // slack for a loaded machine, far below what a hang would take.
                #expect(ContinuousClock.now - started < busy(.seconds(8)), "a dead server's callers are not held")
            }
        }
        try await server.relaunch()
        // Service resumes: poll for up to a minute (a restart under load may take seconds).
        var answered = false
        let deadline = ContinuousClock.now + busy(.seconds(60))
        while !answered, ContinuousClock.now < deadline {
            answered = (try? await redis.send(["PING"]).string) == "PONG"
            if !answered { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(answered)
        await redis.shutdown()
    }

    @Test("bad configuration names its field")
    func validation() {
        let cases: [(String, RedisConfiguration)] = [
            ("poolSize", RedisConfiguration(poolSize: 0)),
            ("database", RedisConfiguration(cluster: true, database: 2)),
            ("endpoints", RedisConfiguration(endpoints: [])),
            ("commandTimeout", RedisConfiguration(commandTimeout: .zero)),
        ]
        for (field, configuration) in cases {
            #expect {
                _ = try RedisClient(configuration: configuration)
            } throws: { error in
                guard case .invalidConfiguration(let named, _) = error as? BulwarkError else { return false }
                return named == field
            }
        }
    }
}
