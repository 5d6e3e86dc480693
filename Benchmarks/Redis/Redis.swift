// Decisions on a real redis-server this suite starts on a free loopback port, in one run:
// - the ceiling: redis-benchmark sending the very EVALSHA a limiter sends, at 1, 16 and 64
//   connections (one request in flight each);
// - our limiter (one EVALSHA per decision) at 1, 16 and 64 concurrent callers over pools of 1, 4
//   and 16 pipelined connections: decisions per second and p50/p95/p99 latency;
// - local leasing: batches of 1,000 taken by one EVALSHA and spent in memory;
// - paired: for one caller, redis-benchmark and ours back to back in every iteration, and the ratio
//   (also with the caller on the client's event loop, under its task executor);
// - the pattern users replace: a list per key, LLEN then LPUSH and EXPIRE (LINDEX and RPOP when
//   full), each a round trip, at the same concurrency.
// Every iteration makes 4,000 decisions; the custom metrics are that iteration's throughput and
// latency percentiles (package-benchmark then reports their distribution over the iterations).
import Benchmark
import BulwarkCore
import BulwarkRedis
import Foundation

/// A redis-server of this run's own, killed by a watching shell when the suite exits.
let port: Int = {
    let port = Int.random(in: 20_000...45_000)
    let me = ProcessInfo.processInfo.processIdentifier
    let shell = Process()
    shell.executableURL = URL(fileURLWithPath: "/bin/sh")
    shell.arguments = ["-c", "redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --loglevel warning "
        + ">/dev/null 2>&1 & r=$!; while kill -0 \(me) 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.2; done; kill -9 $r"]
    try? shell.run()
    for _ in 0..<1_000 where run("redis-cli", ["-p", String(port), "PING"]) != "PONG" { Thread.sleep(forTimeInterval: 0.02) }
    return port
}()

@discardableResult
func run(_ program: String, _ arguments: [String]) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try? process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

let decisionsPerIteration = 4_000
/// A limit that never refuses during the run: every decision does the same work (a fixed window's
/// counter, as cheap as a token bucket's).
let limit = try! RedisLimit.fixedWindow(limit: 1 << 50, window: .seconds(3600))

func client(pool: Int) -> RedisClient {
    try! RedisClient(configuration: RedisConfiguration(
        endpoints: [RedisEndpoint(host: "127.0.0.1", port: port)], poolSize: pool, commandTimeout: .seconds(10)
    ))
}

/// Runs `decide` `decisionsPerIteration` times over `callers` tasks; records throughput and latency.
@discardableResult
func load(_ benchmark: Benchmark, callers: Int, _ decide: @escaping @Sendable () async throws -> Void) async throws -> Int {
    let clock = ContinuousClock()
    let started = clock.now
    let latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
        for caller in 0..<callers {
            group.addTask {
                var mine: [Int64] = []
                for _ in stride(from: caller, to: decisionsPerIteration, by: callers) {
                    let start = clock.now
                    try await decide()
                    mine.append((clock.now - start).nanosecondsValue)
                }
                return mine
            }
        }
        var all: [Int64] = []
        for try await part in group { all += part }
        return all.sorted()
    }
    let elapsed = (clock.now - started).nanosecondsValue
    func percentile(_ p: Int) -> Int { Int(latencies[min(latencies.count - 1, latencies.count * p / 100)] / 1_000) }
    let throughput = Int(Int64(decisionsPerIteration) * 1_000_000_000 / max(1, elapsed))
    benchmark.measurement(metrics[0], throughput)
    benchmark.measurement(metrics[1], percentile(50))
    benchmark.measurement(metrics[2], percentile(95))
    benchmark.measurement(metrics[3], percentile(99))
    return throughput
}

/// One run of redis-benchmark: `callers` connections, `decisionsPerIteration` of the limiter's own
/// EVALSHA (loaded first); its requests per second and p50, p95, p99 in microseconds.
func ceiling(callers: Int, script: RedisScript, arguments: [String]) -> [Int]? {
    _ = run("redis-cli", ["-p", String(port), "SCRIPT", "LOAD", script.source])
    let output = run("redis-benchmark", [
        "-p", String(port), "-c", String(callers), "-n", String(decisionsPerIteration), "-q", "--csv",
        "EVALSHA", script.sha1, "1", "bench:ceiling:\(callers)",
    ] + arguments)
    // "EVALSHA …","rps","avg","min","p50","p95","p99","max" (milliseconds)
    let fields = output.split(separator: "\n").last?.split(separator: ",").map { $0.replacingOccurrences(of: "\"", with: "") } ?? []
    guard fields.count >= 7, let rps = Double(fields[1]) else { return nil }
    return [Int(rps)] + fields[4...6].map { Int((Double($0) ?? 0) * 1000) }
}

extension Duration {
    var nanosecondsValue: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

let metrics: [BenchmarkMetric] = [
    .custom("decisions/s", polarity: .prefersLarger, useScalingFactor: false), .custom("p50 µs", useScalingFactor: false),
    .custom("p95 µs", useScalingFactor: false), .custom("p99 µs", useScalingFactor: false),
]

/// Ours as a percentage of redis-benchmark's decisions per second, measured in the same iteration.
let paired = BenchmarkMetric.custom("% of redis-benchmark", polarity: .prefersLarger, useScalingFactor: false)
/// The same, the caller running under the client's task executor (``RedisClient/taskExecutor``).
let pairedOnLoop = BenchmarkMetric.custom("% on the loop", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 15)
    let script = try! RedisRateLimiter(client: client(pool: 1), key: "bench", limit: limit).script
    let arguments = ["", "", "acquire", "1", "", ""] + limit.arguments

    for callers in [1, 16, 64] {
        // The ceiling: redis-benchmark, `callers` connections, the same EVALSHA (loaded first).
        // As many decisions an iteration as ours, and as many iterations: the ratio compares like with like.
        Benchmark(
            "ceiling: redis-benchmark EVALSHA, \(callers) connections",
            configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 15)
        ) { benchmark in
            for (metric, value) in zip(metrics, ceiling(callers: callers, script: script, arguments: arguments) ?? []) {
                benchmark.measurement(metric, value)
            }
        }
        for pool in [1, 4, 16] {
            Benchmark("limiter: one EVALSHA per decision, \(callers) callers, pool \(pool)") { benchmark in
                let redis = client(pool: pool)
                let limiter = try RedisRateLimiter(client: redis, key: "bench:limiter:\(callers):\(pool)", limit: limit)
                _ = try await limiter.tryAcquire(cost: 0)
                try await load(benchmark, callers: callers) { _ = try await limiter.tryAcquire() }
                await redis.shutdown()
            }
        }
        // The single caller's ratio, each iteration redis-benchmark then ours back to back, so that
        // both see the machine in the same state (a virtual machine's speed drifts between runs).
        if callers == 1 {
            Benchmark(
                "paired: redis-benchmark then the limiter, 1 caller, pool 4",
                configuration: .init(metrics: metrics + [paired, pairedOnLoop], scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 15)
            ) { benchmark in
                guard let theirs = ceiling(callers: 1, script: script, arguments: arguments)?.first else { return }
                let redis = client(pool: 4)
                let limiter = try RedisRateLimiter(client: redis, key: "bench:paired", limit: limit)
                _ = try await limiter.tryAcquire(cost: 0)
                let ours = try await load(benchmark, callers: 1) { _ = try await limiter.tryAcquire() }
                benchmark.measurement(paired, ours * 100 / max(1, theirs))
                // The same caller under the client's task executor: no thread hand-off per decision.
                let onLoop = try await withTaskExecutorPreference(redis.taskExecutor) {
                    let clock = ContinuousClock()
                    let started = clock.now
                    for _ in 0..<decisionsPerIteration { _ = try await limiter.tryAcquire() }
                    return Int(Int64(decisionsPerIteration) * 1_000_000_000 / max(1, (clock.now - started).nanosecondsValue))
                }
                benchmark.measurement(pairedOnLoop, onLoop * 100 / max(1, theirs))
                await redis.shutdown()
            }
        }
        Benchmark("leased: batches of 1,000 spent locally, \(callers) callers, pool 4") { benchmark in
            let redis = client(pool: 4)
            let shared = try RedisRateLimiter(client: redis, key: "bench:leased:\(callers)", limit: limit)
            let leased = try RedisLeasedRateLimiter(shared, batch: 1_000, lease: .seconds(10))
            try await load(benchmark, callers: callers) { _ = try await leased.tryAcquire() }
            try await leased.release()
            await redis.shutdown()
        }
        Benchmark("replaced pattern: LLEN, LPUSH, EXPIRE (LINDEX, RPOP when full), \(callers) callers, pool 4") { benchmark in
            let redis = client(pool: 4)
            let key = "bench:list:\(callers)"
            let window: Int64 = 3_600_000_000_000
            try await load(benchmark, callers: callers) {
                let now = ContinuousClock().nowNanoseconds
                let length = try await redis.send(["LLEN", key], key: key).integer ?? 0
                if length >= 1_000_000 {
                    let oldest = try await redis.send(["LINDEX", key, "-1"], key: key).integer ?? 0
                    guard now - oldest > window else { return }
                    _ = try await redis.send(["RPOP", key], key: key)
                }
                _ = try await redis.send(["LPUSH", key, String(now)], key: key)
                _ = try await redis.send(["EXPIRE", key, "3600"], key: key)
            }
            _ = try await redis.send(["DEL", key], key: key)
            await redis.shutdown()
        }
    }
}
