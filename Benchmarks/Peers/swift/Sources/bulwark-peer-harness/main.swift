// Our side of Benchmarks/Peers/run: `tryAcquire` on the always-permitted path, timed exactly like
// the Go, Guava and Python harnesses (calibrate to a 100 ms batch, then rounds of about one
// second; the median round is reported as `label<TAB>ns/op`).
import BulwarkCircuitBreaker
import BulwarkSlidingWindow
import BulwarkTokenBucket
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let rounds = Int(environmentValue("PEERS_ROUNDS") ?? 5)
let roundSeconds = environmentValue("PEERS_ROUND_SECONDS") ?? 1

func environmentValue(_ name: String) -> Double? {
    guard let raw = getenv(name) else { return nil }
    return Double(String(cString: raw)).flatMap { $0 > 0 ? $0 : nil }
}

/// Writes a line to standard error (details; standard output carries only the results).
func log(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Calls `tryAcquire` `count` times; returns the elapsed nanoseconds and how many were allowed.
@inline(never)
func run<A: RateLimitAlgorithm, C: NanosecondClock>(_ limiter: InMemoryRateLimiter<A, C>, count: Int) -> (Int64, Int) {
    let clock = ContinuousClock()
    var allowed = 0
    let start = clock.nowNanoseconds
    for _ in 0 ..< count {
        if (try? limiter.tryAcquire())?.isAllowed == true { allowed &+= 1 }
    }
    return (clock.nowNanoseconds - start, allowed)
}

/// Calibrates, times the rounds, and prints the median round as `label<TAB>ns/op`; stops the
/// process if any timed call is refused.
func measure<A: RateLimitAlgorithm, C: NanosecondClock>(_ label: String, _ limiter: InMemoryRateLimiter<A, C>) {
    var count = 1 << 16
    var elapsed: Int64 = 0
    while true {
        (elapsed, _) = run(limiter, count: count)
        if elapsed >= 100_000_000 { break }
        count *= 2
    }
    count = max(1, Int(Double(count) * roundSeconds * 1e9 / Double(elapsed)))
    var perOperation: [Double] = []
    for round in 1 ... rounds {
        let (nanoseconds, allowed) = run(limiter, count: count)
        guard allowed == count else {
            fatalError("\(label): only \(allowed) of \(count) calls were allowed: the harness is not on the permitted path")
        }
        perOperation.append(Double(nanoseconds) / Double(count))
        log("\(label) round \(round): \(count) ops, \(perOperation.last!) ns/op")
    }
    let median = perOperation.sorted()[perOperation.count / 2]
    print("\(label)\t\((median * 10).rounded() / 10)")
}

/// The token bucket: a capacity and refill no round can exhaust.
func measureTokenBucket<C: NanosecondClock>(_ label: String, clock: C) throws {
    let limiter = try TokenBucketRateLimiter(
        capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock
    )
    measure(label, limiter)
}

try measureTokenBucket("bulwark-token-bucket-tryacquire", clock: ContinuousClock())

let cached = try CachedClock()
let ticker = Task { await cached.run() }
try measureTokenBucket("bulwark-token-bucket-tryacquire-cached-clock", clock: cached)
ticker.cancel()

// The sliding-window log, the peer of the `limits` moving window. A 1 ms window, so entries keep
// leaving as new ones arrive (one removal per call in the steady state), and a limit of 1,000,000:
// the window admits a call unless 1,000,000 were admitted in the last millisecond, which would take
// calls 1 ns apart. Calls at the same clock reading share one entry, so the ring holds at most one
// entry per distinct nanosecond of the window (here tens of thousands); it grows by doubling up to
// what that needs, far below its bound of twice the limit, and then stops allocating.
let slidingWindowLog = try InMemoryRateLimiter<SlidingWindowLog, ContinuousClock>(
    configuration: SlidingWindowLog.Configuration(limit: 1_000_000, window: .milliseconds(1)),
    clock: ContinuousClock()
)
measure("bulwark-sliding-window-log-tryacquire", slidingWindowLog)
// Detail: a probe (cost 0 takes nothing) tells how many were admitted in the last millisecond.
if let probe = try? slidingWindowLog.tryAcquire(cost: 0) {
    log("bulwark-sliding-window-log-tryacquire: \(probe.limit - probe.remaining) admitted in the last 1 ms window (limit \(probe.limit))")
}

// The circuit breaker, the peer of eapache/go-resiliency's `Run`, pybreaker's `call` and
// Resilience4j's `executeSupplier`: a closed breaker (Bulwark's defaults: a count window of the last
// 100 calls, opening at a 50 % failure rate once 100 calls are in) wrapping a call that succeeds,
// through `execute` (async), which takes a permit, runs the call, classifies its outcome and records
// it in the window, judging the thresholds. Each round checks that the window is full: the outcomes
// were recorded.
@inline(never)
func succeed(_ context: ResilienceContext) async throws -> Int { 1 }

@inline(never)
func runBreaker(_ breaker: CircuitBreaker<ContinuousClock>, count: Int) async -> (Int64, Int) {
    let clock = ContinuousClock()
    let context = ResilienceContext(operationName: "peer")
    var succeeded = 0
    let start = clock.nowNanoseconds
    for _ in 0 ..< count {
        if let value = try? await breaker.execute(context, succeed) { succeeded &+= value }
    }
    return (clock.nowNanoseconds - start, succeeded)
}

func measureBreaker(_ label: String) async throws {
    let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: ContinuousClock())
    var count = 1 << 16
    var elapsed: Int64 = 0
    while true {
        (elapsed, _) = await runBreaker(breaker, count: count)
        if elapsed >= 100_000_000 { break }
        count *= 2
    }
    count = max(1, Int(Double(count) * roundSeconds * 1e9 / Double(elapsed)))
    var perOperation: [Double] = []
    for round in 1 ... rounds {
        let (nanoseconds, succeeded) = await runBreaker(breaker, count: count)
        let metrics = breaker.metrics
        guard succeeded == count, metrics.state == .closed, metrics.calls == 100, metrics.failedCalls == 0 else {
            fatalError("\(label): \(succeeded) of \(count) calls succeeded, state \(metrics.state), \(metrics.calls) calls in the window: not on the closed, recording path")
        }
        perOperation.append(Double(nanoseconds) / Double(count))
        log("\(label) round \(round): \(count) ops, \(perOperation.last!) ns/op")
    }
    let median = perOperation.sorted()[perOperation.count / 2]
    print("\(label)\t\((median * 10).rounded() / 10)")
}

try await measureBreaker("bulwark-circuit-breaker-closed-success")
