// Scenario "scheduler": three tenants share four workers of an agent runtime's task guard. A
// flooding tenant sends 60 jobs a second, a steady one 10 (one in ten of which fails), a VIP 4,
// at random moments; the workers run about 40 a second (each job takes 50 to 150 ms). Every job may wait 2 s in the queue. The
// same traffic runs through three orders: first-in-first-out, priority (the VIP first, with
// ageing) and weighted fair (the VIP weighs 4). Jobs that fail after two attempts land in the
// dead-letter queue and are replayed at the end, once the cause is fixed.
import Bulwark
import BulwarkScheduler
import BulwarkTestKit
import Logging
import ServiceLifecycle
import Synchronization
import BulwarkSimulations

struct AgentJob: Codable, Sendable {
    var tenant: String
    /// When it was submitted, on the virtual clock.
    var submittedAt: Int64
    /// How long it runs.
    var milliseconds: Int64
    var fails: Bool
}

func schedulerScenario() async throws {
    let tenants: [(name: String, perSecond: Int)] = [("flood", 60), ("steady", 10), ("vip", 4)]
    let duration = 30 * second
    print("  4 workers, 50 to 150 ms a job (about 40 jobs/s); each job may wait 2 s; 30 s of traffic per order")
    print("  tenants (random arrivals): flood 60 jobs/s, steady 10 jobs/s (1 in 10 fails, retried once), vip 4 jobs/s")
    print("  the vip's jobs are critical for the priority order, and weigh 4 for the fair order\n")
    print("  order     tenant   done   timed out   jobs/s   wait p50   p95      p99")
    let orders: [(String, @Sendable () throws -> any WaitOrder, Priority)] = [
        ("FIFO", { FIFOWaitOrder() }, .normal),
        ("priority", { try PriorityWaitOrder(ageing: PriorityAgeing(levels: 1, every: .milliseconds(20))) }, .critical),
        ("fair", { try FairWaitOrder(weights: ["vip": 4]) }, .normal),
    ]
    for (name, order, vipPriority) in orders {
        let clock = ManualClock()
        let fixed = Atomic<Bool>(false)
        let sleeping = Atomic<Int>(0)
        var retry = RetryConfiguration(maximumAttempts: 2)
        retry.backoff = .constant(.zero)
        let waits = Log<(tenant: String, wait: Int64)>()
        let scheduler = try WorkScheduler<AgentJob, Void, ManualClock>(
            workers: 4, order: try order(), capacity: 10_000, pipeline: try Retry(configuration: retry, clock: clock), clock: clock
        ) { job, context in
            if context.attempt == 1 { waits.append((job.tenant, clock.nowNanoseconds - job.submittedAt)) }
            sleeping.add(1, ordering: .relaxed)
            try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(job.milliseconds)))
            sleeping.subtract(1, ordering: .relaxed)
            if job.fails, !fixed.load(ordering: .relaxed) { throw ProviderError() }
        }
        let answered = Log<(tenant: String, ok: Bool, timedOut: Bool)>()
        let launched = Atomic<Int>(0)
        // Quiet: every job is answered, queued or running (asleep on the clock), no worker is idle
        // while jobs wait, and every sleeper the clock has woken has run (the clock's sleepers are
        // the running jobs, plus the queue's expiry timer while jobs are queued).
        func quiet() -> Bool {
            let busy = sleeping.load(ordering: .relaxed)
            let queued = scheduler.queuedCount
            return answered.count + queued + busy == launched.load(ordering: .relaxed) && (queued == 0 || busy == 4)
                && clock.sleeperCount == busy + (queued > 0 ? 1 : 0)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: scheduler)], logger: .init(label: "demo"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var steadyCount = 0
            var random = SplitMix64(seed: 7)
            for _ in 0 ..< Int(duration / (10 * 1_000_000)) {  // 10 ms ticks
                for (tenant, perSecond) in tenants where Int(random.next() % 100) < perSecond {
                    let fails = tenant == "steady" && { steadyCount += 1; return steadyCount % 10 == 0 }()
                    let job = AgentJob(
                        tenant: tenant, submittedAt: clock.nowNanoseconds, milliseconds: 50 + Int64(random.next() % 101), fails: fails
                    )
                    launched.add(1, ordering: .relaxed)
                    tasks.addTask {
                        do {
                            try await scheduler.submit(
                                job, priority: tenant == "vip" ? vipPriority : .normal, partitionKey: tenant, deadline: .after(.seconds(2))
                            )
                            answered.append((tenant, true, false))
                        } catch {
                            answered.append((tenant, false, error as? BulwarkError == .waitTimedOut))
                        }
                    }
                    await settle(quiet)  // one job at a time, so equal arrival times keep their order
                }
                clock.advance(by: .milliseconds(10))
                for _ in 0 ..< 20 { await Task.yield() }
                await settle(quiet)
            }
            await drive(clock, step: .milliseconds(10), until: { answered.count == launched.load(ordering: .relaxed) }, quiet: quiet)
            let deadLetters = try await scheduler.deadLetters.count()
            for tenant in tenants.map(\.name) {
                let done = answered.all.filter { $0.tenant == tenant && $0.ok }.count
                let timedOut = answered.all.filter { $0.tenant == tenant && $0.timedOut }.count
                let served = waits.all.filter { $0.tenant == tenant }.map(\.wait).sorted()
                let milliseconds = { (value: Int64) in "\(value / 1_000_000) ms" }
                print(
                    "  \(leftAligned(tenant == "flood" ? name : "", 9)) \(leftAligned(tenant, 8)) \(padded(done, 5))"
                        + "   \(padded(timedOut, 9))   \(padded(String(format1(Double(done) / 30)), 6))"
                        + "   \(padded(milliseconds(percentile(50, of: served)), 8))   \(leftAligned(milliseconds(percentile(95, of: served)), 8))"
                        + " \(milliseconds(percentile(99, of: served)))"
                )
            }
            // The provider is fixed: replay the dead letters through the scheduler.
            fixed.store(true, ordering: .relaxed)
            let replayTask = Task { await scheduler.deadLetters.replay { letter in try await scheduler.submit(letter.job) } }
            await drive(clock, step: .milliseconds(10), until: { scheduler.statistics.succeeded >= answered.all.filter(\.ok).count + deadLetters }, quiet: { sleeping.load(ordering: .relaxed) > 0 || scheduler.queuedCount == 0 })
            let report = await replayTask.value
            print(
                "            \(deadLetters) dead letters (failed twice); once fixed, replayed \(report.replayed.count),"
                    + " \(report.failed.count) failed again, \(try await scheduler.deadLetters.count()) left"
            )
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

struct ProviderError: Error, CustomStringConvertible {
    var description: String { "provider error" }
}

/// `12.3`.
func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
