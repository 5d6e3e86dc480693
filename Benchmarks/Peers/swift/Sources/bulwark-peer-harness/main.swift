// Our side of Benchmarks/Peers/run: `tryAcquire` on the always-permitted path, timed exactly like
// the Go and Guava harnesses (calibrate to a 100 ms batch, then rounds of about one second;
// the median round is reported as `label<TAB>ns/op`).
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
func run<C: NanosecondClock>(_ limiter: TokenBucketLimiter<C>, count: Int) -> (Int64, Int) {
    let clock = ContinuousClock()
    var allowed = 0
    let start = clock.nowNanoseconds
    for _ in 0 ..< count {
        if (try? limiter.tryAcquire())?.isAllowed == true { allowed &+= 1 }
    }
    return (clock.nowNanoseconds - start, allowed)
}

func measure<C: NanosecondClock>(_ label: String, clock: C) throws {
    let limiter = try TokenBucketLimiter(
        capacity: 1_000_000_000_000_000, refill: 1_000_000_000, every: .seconds(1), clock: clock
    )
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
            fatalError("only \(allowed) of \(count) calls were allowed: the harness is not on the permitted path")
        }
        perOperation.append(Double(nanoseconds) / Double(count))
        log("\(label) round \(round): \(count) ops, \(perOperation.last!) ns/op")
    }
    let median = perOperation.sorted()[perOperation.count / 2]
    print("\(label)\t\((median * 10).rounded() / 10)")
}

try measure("bulwark-token-bucket-tryacquire", clock: ContinuousClock())

let cached = try CachedClock()
let ticker = Task { await cached.run() }
try measure("bulwark-token-bucket-tryacquire-cached-clock", clock: cached)
ticker.cancel()
