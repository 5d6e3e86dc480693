// Scenario "token-bucket": 500 LLM calls arriving in bursts against a provider that allows 40
// requests per minute, guarded by a token bucket with a FIFO waiting queue of 100 and a 60 s
// queue timeout.
import Bulwark
import BulwarkTestKit
import BulwarkSimulations

func tokenBucketScenario() async throws {
    let requestsPerMinute = 40
    let queueLimit = 100
    let queueTimeout = Duration.seconds(60)
    // Bursts of calls: (second of arrival, how many).
    let bursts: [(second: Int64, calls: Int)] = [(0, 120), (50, 60), (120, 150), (200, 20), (260, 100), (400, 50)]

    enum Outcome: Sendable { case immediate, delayed(waited: Int64), timedOut, queueFull }
    struct Record: Sendable { var arrival: Int64; var end: Int64; var outcome: Outcome }

    let clock = ManualClock()
    let limiter = try TokenBucketRateLimiter(
        capacity: requestsPerMinute, refill: requestsPerMinute, every: .seconds(60), queueLimit: queueLimit, clock: clock
    )
    let records = Log<Record>()

    /// One call: wait for a permit (at most `queueTimeout`), then record what happened.
    @Sendable func call() async {
        let arrival = clock.nowNanoseconds
        let outcome: Outcome
        do {
            try await limiter.acquire(cost: 1, deadline: .after(queueTimeout))
            let waited = clock.nowNanoseconds - arrival
            outcome = waited == 0 ? .immediate : .delayed(waited: waited)
        } catch BulwarkError.queueFull {
            outcome = .queueFull
        } catch {
            outcome = .timedOut
        }
        records.append(Record(arrival: arrival, end: clock.nowNanoseconds, outcome: outcome))
    }

    var launched = 0
    /// Every launched call is finished or queued, and the limiter's timer is asleep.
    func quiet() -> Bool {
        let waiting = limiter.waitingCount
        let timerAsleep = waiting == 0 || (clock.nextDeadline.map { $0 > clock.now } ?? false)
        return records.count + waiting == launched && timerAsleep
    }
    let started = ContinuousClock.now
    await withDiscardingTaskGroup { group in
        var pending = bursts[...]
        while !pending.isEmpty || records.count < launched {
            while let burst = pending.first, burst.second * second <= clock.nowNanoseconds {
                pending = pending.dropFirst()
                for _ in 0 ..< burst.calls {
                    group.addTask { await call() }
                    launched += 1
                    await settle(quiet)  // arrivals join the queue in order
                }
            }
            await settle(quiet)
            clock.advance(by: .milliseconds(100))
            await settle(quiet)
        }
    }
    let realTime = started.duration(to: .now)

    let all = records.all
    let waits = all.compactMap { record -> Int64? in
        if case .delayed(let waited) = record.outcome { return waited }
        return nil
    }.sorted()
    let immediate = all.filter { if case .immediate = $0.outcome { true } else { false } }.count
    let timedOut = all.filter { if case .timedOut = $0.outcome { true } else { false } }.count
    let queueFull = all.filter { if case .queueFull = $0.outcome { true } else { false } }.count
    let simulated: Int64 = all.map(\.end).max() ?? 0
    print("""
      \(all.count) LLM calls in bursts against a provider limit of \(requestsPerMinute) requests per minute
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
        print("  \(padded(clockTime(start), 5))  in \(padded(arrivals, 3))  ok \(padded(admitted, 3))  429 \(padded(rejected, 3))  "
            + String(repeating: "#", count: (admitted + 1) / 2) + String(repeating: "x", count: (rejected + 1) / 2))
    }
    print("\n  limit hits: \(timedOut + queueFull) of \(all.count) calls (\((timedOut + queueFull) * 100 / max(1, all.count)) %)")
}
