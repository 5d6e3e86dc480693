// Scenario "bulkhead": twenty model calls of one to five seconds arrive at once; at most five run
// at a time. FIFO serves them in arrival order; LIFO serves the newest first (the caller most
// likely still waiting under overload). The permits come back when each call ends: none leaks.
import Bulwark
import BulwarkTestKit
import BulwarkSimulations

func bulkheadScenario() async throws {
    var random = SplitMix64(seed: 11)
    let durations = (0 ..< 20).map { _ in Int64.random(in: 1 ... 5, using: &random) * second }
    for (name, order) in [("FIFO", FIFOWaitOrder() as any WaitOrder), ("LIFO", LIFOWaitOrder())] {
        struct Run: Sendable { var job: Int; var started: Int64; var ended: Int64 }
        let clock = ManualClock()
        let bulkhead = try Bulkhead(limit: 5, order: order, clock: clock)
        let runs = Log<Run>()
        let inFlight = InFlight()
        var launched = 0
        func quiet() -> Bool { runs.count + bulkhead.waitingCount + clock.sleeperCount == launched }
        try await withThrowingDiscardingTaskGroup { group in
            for (job, duration) in durations.enumerated() {
                group.addTask {
                    try await bulkhead.withPermit {
                        let started = clock.nowNanoseconds
                        inFlight.enter()
                        try await clock.sleep(until: clock.now.advanced(by: .nanoseconds(duration)))
                        inFlight.leave()
                        runs.append(Run(job: job, started: started, ended: clock.nowNanoseconds))
                    }
                }
                launched += 1
                await settle(quiet)
            }
            await drive(clock, step: .milliseconds(100), until: { runs.count == launched }, quiet: quiet)
        }
        let all = runs.all.sorted { $0.job < $1.job }
        let waits = all.map(\.started).sorted()
        let order = runs.all.sorted { ($0.started, $0.job) < ($1.started, $1.job) }.map { "\($0.job)" }.joined(separator: " ")
        print("""
          \(name): 20 calls, at most \(inFlight.most) in flight, all done by \(seconds(all.map(\.ended).max() ?? 0)); \
        in flight now: \(bulkhead.inFlight)
            wait p50 \(seconds(percentile(50, of: waits))), max \(seconds(waits.last ?? 0)); \
        first arrival waited \(seconds(all[0].started)), last arrival \(seconds(all[19].started))
            started in this order: \(order)
        """)
    }
}

/// How many calls are inside their permit now, and the most ever at once.
final class InFlight: Sendable {
    private let counts = Log<Int>()
    func enter() { counts.append(+1) }
    func leave() { counts.append(-1) }
    var most: Int {
        var now = 0, most = 0
        for change in counts.all { now += change; most = max(most, now) }
        return most
    }
}
