// bulwark-demo: 500 LLM calls arriving in bursts against a provider that allows 40 requests per
// minute, guarded by a token bucket with a FIFO waiting queue, all on a virtual clock, so the
// several simulated minutes run in well under a second and every run prints the same report.
import Bulwark
import BulwarkTestKit
import Synchronization

// The provider's quota and the guard in front of it.
let requestsPerMinute = 40
let queueLimit = 100
let queueTimeout = Duration.seconds(60)
// Bursts of calls: (second of arrival, how many).
let bursts: [(second: Int64, calls: Int)] = [(0, 120), (50, 60), (120, 150), (200, 20), (260, 100), (400, 50)]

enum Outcome {
    case immediate, delayed(waited: Int64), timedOut, queueFull
}

struct Record {
    var arrival: Int64
    var end: Int64
    var outcome: Outcome
}

let clock = ManualClock()
let limiter = try TokenBucketLimiter(
    capacity: requestsPerMinute, refill: requestsPerMinute, every: .seconds(60),
    queueLimit: queueLimit, clock: clock
)
let records = Mutex<[Record]>([])

/// One call: wait for a permit (at most `queueTimeout`), then record what happened.
func call() async {
    let arrival = clock.nowNanoseconds
    let outcome: Outcome
    do {
        let decision = try await limiter.acquire(cost: 1, deadline: .after(queueTimeout))
        let waited = clock.nowNanoseconds - arrival
        _ = decision
        outcome = waited == 0 ? .immediate : .delayed(waited: waited)
    } catch BulwarkError.queueFull {
        outcome = .queueFull
    } catch {
        outcome = .timedOut
    }
    let record = Record(arrival: arrival, end: clock.nowNanoseconds, outcome: outcome)
    records.withLock { $0.append(record) }
}

/// Yields until every launched call is either queued or finished and the limiter's timer is
/// asleep again: the simulation is quiet, and the clock may move on.
func settle(launched: Int) async {
    while true {
        let finished = records.withLock { $0.count }
        let waiting = limiter.waitingCount
        let timerAsleep = waiting == 0 || (clock.nextDeadline.map { $0 > clock.now } ?? false)
        if finished + waiting == launched, timerAsleep { return }
        await Task.yield()
    }
}

let second: Int64 = 1_000_000_000
let step: Int64 = 100_000_000  // the simulation advances in 100 ms steps
let started = ContinuousClock.now
var launched = 0
await withDiscardingTaskGroup { group in
    var pending = bursts[...]
    while !pending.isEmpty || records.withLock({ $0.count }) < launched {
        while let burst = pending.first, burst.second * second <= clock.nowNanoseconds {
            pending = pending.dropFirst()
            for _ in 0 ..< burst.calls {
                group.addTask { await call() }
                launched += 1
                await settle(launched: launched)  // arrivals join the queue in order
            }
        }
        await settle(launched: launched)
        clock.advance(by: .nanoseconds(step))
        await settle(launched: launched)
    }
}
let realTime = started.duration(to: .now)

// The report.
let all = records.withLock { $0 }
let waits = all.compactMap { record -> Int64? in
    if case .delayed(let waited) = record.outcome { return waited }
    return nil
}.sorted()
let immediate = all.filter { if case .immediate = $0.outcome { true } else { false } }.count
let timedOut = all.filter { if case .timedOut = $0.outcome { true } else { false } }.count
let queueFull = all.filter { if case .queueFull = $0.outcome { true } else { false } }.count

func seconds(_ nanoseconds: Int64) -> String {
    let tenths = (nanoseconds + 50_000_000) / 100_000_000
    return "\(tenths / 10).\(tenths % 10) s"
}

func percentile(_ p: Int, of sorted: [Int64]) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, (sorted.count * p + 99) / 100 - 1)]
}

func padded(_ value: Any, _ width: Int) -> String {
    let text = "\(value)"
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

let simulated: Int64 = all.map(\.end).max() ?? 0
print("""
Bulwark demo: \(all.count) LLM calls in bursts against a provider limit of \(requestsPerMinute) requests per minute
  guard: token bucket (capacity \(requestsPerMinute), refill \(requestsPerMinute) per 60 s), FIFO queue of at most \
\(queueLimit), queue timeout \(seconds(queueTimeout.saturatingNanoseconds))
  virtual clock: \(seconds(simulated)) simulated in \(realTime.saturatingNanoseconds / 1_000_000) ms of real time

  admitted at once      \(padded(immediate, 4))
  admitted after a wait \(padded(waits.count, 4))
  rejected: timed out   \(padded(timedOut, 4))
  rejected: queue full  \(padded(queueFull, 4))

  waiting time of the delayed calls: p50 \(seconds(percentile(50, of: waits))), \
p90 \(seconds(percentile(90, of: waits))), p99 \(seconds(percentile(99, of: waits))), max \(seconds(waits.last ?? 0))

  timeline, 30 s per row: calls arriving, admitted, rejected (# admitted, x rejected, one mark per 2 calls)
""")
let row: Int64 = 30 * second
for start in stride(from: Int64(0), through: simulated, by: Int64.Stride(row)) {
    let window = start ..< start + row
    let arrivals = all.filter { window.contains($0.arrival) }.count
    let admitted = all.filter {
        switch $0.outcome {
        case .immediate, .delayed: window.contains($0.end)
        default: false
        }
    }.count
    let rejected = all.filter {
        switch $0.outcome {
        case .timedOut, .queueFull: window.contains($0.end)
        default: false
        }
    }.count
    let minute = start / (60 * second)
    let secondOfMinute = (start / second) % 60
    let label = "\(minute):\(secondOfMinute < 10 ? "0" : "")\(secondOfMinute)"
    print("  \(padded(label, 5))  in \(padded(arrivals, 3))  ok \(padded(admitted, 3))  429 \(padded(rejected, 3))  "
        + String(repeating: "#", count: (admitted + 1) / 2) + String(repeating: "x", count: (rejected + 1) / 2))
}
print("\n  limit hits: \(timedOut + queueFull) of \(all.count) calls (\((timedOut + queueFull) * 100 / max(1, all.count)) %)")
