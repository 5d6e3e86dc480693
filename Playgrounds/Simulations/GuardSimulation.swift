// The agent guard on the virtual clock: agent tasks arrive at random (Poisson) at a given rate,
// each with a priority, and make one model call through the guard against five simulated
// providers; one provider fails for ten minutes in the middle of the run. The driver moves the
// clock only when every task is answered, queued or asleep on it, so minutes of traffic run in
// seconds.
import Bulwark
import BulwarkHealth
import BulwarkTestKit
import Synchronization

/// The five providers of the agent runtime the guard was written for.
public func agentProviders() -> [(name: String, profile: String)] {
    providerProfiles().map { ($0.name, describe($0)) }
}

func providerProfiles() -> [ProviderProfile] {
    [
        ProviderProfile(name: "openai", maxInFlight: 5, requestsPerMinute: 40, latency: 4_000 ... 10_000),
        ProviderProfile(name: "anthropic", maxInFlight: 5, requestsPerMinute: 40, latency: 4_000 ... 10_000, outage: (20, 30)),
        ProviderProfile(name: "local", maxInFlight: 1, requestsPerMinute: nil, latency: 10_000 ... 20_000),
        ProviderProfile(name: "mistral", maxInFlight: 5, requestsPerMinute: nil, latency: 3_000 ... 7_000),
        ProviderProfile(name: "gemini", maxInFlight: 1, requestsPerMinute: 5, latency: 2_000 ... 6_000),
    ]
}

func describe(_ profile: ProviderProfile) -> String {
    let rpm = profile.requestsPerMinute.map { "\($0) RPM" } ?? "no RPM limit"
    let outage = profile.outage.map { ", down (500s) from minute \($0.from) to \($0.to)" } ?? ""
    return "\(profile.maxInFlight) in flight, \(rpm), \(profile.latency.lowerBound / 1000)-\(profile.latency.upperBound / 1000) s a call\(outage)"
}

/// What one run measured, over a span of it.
public struct GuardPhase: Sendable {
    public var name: String
    public var tasks = 0
    public var succeeded = 0
    public var timedOutInQueue = 0
    public var providerCalls = 0
    public var rateLimitHits = 0
    /// Slot-time in use over slot-time of enabled providers.
    public var utilisation = 0.0
    public var meanWait = 0.0
    public var p95Wait = 0.0

    public var hitRate: Double { Double(rateLimitHits) / Double(max(1, providerCalls)) }
    public var successRate: Double { Double(succeeded) / Double(max(1, tasks)) }
}

/// What one run measured: the whole hour, its phases, each provider, the health checker's moves.
public struct GuardReport: Sendable {
    public var tasksPerMinute: Double
    public var phases: [GuardPhase] = []
    public var perProvider: [(name: String, calls: Int, hits: Int, errors: Int, utilisation: Double, disabledMinutes: Double)] = []
    public var healthEvents: [String] = []
}

/// Runs `minutes` of traffic at `tasksPerMinute` through the guard.
public func runAgentGuard(tasksPerMinute: Double, minutes: Int = 60, seed: UInt64 = 1) async throws -> GuardReport {
    let clock = ManualClock()
    let simulated = providerProfiles().enumerated().map { index, profile in
        SimulatedProvider(profile, clock: clock, seed: seed &* 1_000 &+ UInt64(index))
    }
    let taskGuard = try AgentTaskGuard(providers: simulated, queueTimeout: .seconds(60), deadline: .seconds(180), clock: clock)
    let healthLog = LockedValue<[String]>([])
    taskGuard.health.events.attach(ClosureObserver { event in
        guard let change = event.detail(as: HealthChanged.self) else { return }
        let (name, enabled, reason) = (change.dependency, change.enabled, change.reason)
        let at = Double(clock.nowNanoseconds) / Double(minute)
        healthLog.withLock { $0.append("minute \(format(at, 1)): \(name) \(enabled ? "re-enabled" : "disabled") (\(reason))") }
    })
    let tally = Tally()
    let end = Int64(minutes) * minute
    var random = SplitMix64(seed: seed)
    var report = GuardReport(tasksPerMinute: tasksPerMinute)
    // Slot-time per provider, apart for the minutes every provider is up and those one is down.
    var busySlotTime = [[Int64]](repeating: [Int64](repeating: 0, count: simulated.count), count: 2)
    var enabledSlotTime = busySlotTime
    var disabledTime = [Int64](repeating: 0, count: simulated.count)
    func outage(at time: Int64) -> Int { simulated.contains { $0.isDown(at: time) } ? 1 : 0 }

    // Quiet: every task answered, queued for admission, or admitted and asleep on the clock (in a
    // provider call or a retry's wait); plus the admission queue's expiry timer while tasks wait.
    func quiet() -> Bool {
        let waiting = taskGuard.admission.waitingCount
        let active = taskGuard.admission.inFlight
        return tally.answered.load(ordering: .relaxed) + waiting + active == tally.launched.load(ordering: .relaxed)
            && clock.sleeperCount == active + (waiting > 0 ? 1 : 0)
    }

    try await withThrowingTaskGroup(of: Void.self) { group in
        var nextArrival = random.exponential(mean: Double(minute) / tasksPerMinute)
        var nextHealth: Int64 = 0
        while true {
            await settle(quiet)
            let now = clock.nowNanoseconds
            if now >= end, tally.answered.load(ordering: .relaxed) == tally.launched.load(ordering: .relaxed) { break }
            var next = nextHealth
            if nextArrival < end { next = min(next, nextArrival) }
            if let deadline = clock.nextDeadline?.nanoseconds { next = min(next, deadline) }
            // Slot time over [now, next): nothing changes in between.
            for (index, provider) in taskGuard.providers.enumerated() {
                let span = next - now
                busySlotTime[outage(at: now)][index] += Int64(provider.bulkhead.inFlight) * span
                if taskGuard.health.isEnabled(provider.simulated.profile.name) {
                    enabledSlotTime[outage(at: now)][index] += Int64(provider.bulkhead.limit) * span
                } else {
                    disabledTime[index] += span
                }
            }
            clock.advance(to: NanosecondInstant(nanoseconds: next))
            if next == nextHealth {
                await taskGuard.health.evaluate()
                nextHealth += 5 * second
            }
            if next == nextArrival, nextArrival < end {
                let draw = random.next() % 10
                let priority: Priority = draw == 0 ? .high : draw < 8 ? .normal : .low
                tally.launched.add(1, ordering: .relaxed)
                let record = TaskRecord(submittedAt: next)
                group.addTask {
                    var timedOut = false
                    var ok = false
                    do {
                        _ = try await taskGuard.run(priority: priority, record: record)
                        ok = true
                    } catch BulwarkError.waitTimedOut {
                        timedOut = true
                    } catch {}
                    let wait = record.startedAt.map { $0 - record.submittedAt }
                    tally.outcomes.withLock { $0.append((record.submittedAt, ok, wait, timedOut)) }
                    tally.answered.add(1, ordering: .relaxed)
                }
                nextArrival += max(1, random.exponential(mean: Double(minute) / tasksPerMinute))
            }
        }
        try await group.waitForAll()
    }

    let results = tally.outcomes.withLock { $0 }
    let logs = simulated.map { provider in provider.state.withLock { $0.log } }
    // The whole hour, the minutes every provider is up, the minutes one is down (by submission
    // time for tasks, by receipt for calls).
    for (name, selected) in [("whole hour", [0, 1]), ("all providers up", [0]), ("anthropic down", [1])] {
        var phase = GuardPhase(name: name)
        let tasks = results.filter { selected.contains(outage(at: $0.submittedAt)) }
        phase.tasks = tasks.count
        phase.succeeded = tasks.filter(\.ok).count
        phase.timedOutInQueue = tasks.filter(\.timedOut).count
        let waits = tasks.compactMap(\.wait).sorted()
        phase.meanWait = Double(waits.reduce(0, +)) / Double(max(1, waits.count)) / Double(second)
        phase.p95Wait = waits.isEmpty ? 0 : Double(waits[max(0, (waits.count * 95 + 99) / 100 - 1)]) / Double(second)
        let calls = logs.flatMap { $0 }.filter { selected.contains(outage(at: $0.at)) }
        phase.providerCalls = calls.count
        phase.rateLimitHits = calls.filter { $0.answer == .rateLimited }.count
        let busy = selected.map { busySlotTime[$0].reduce(0, +) }.reduce(0, +)
        let enabled = selected.map { enabledSlotTime[$0].reduce(0, +) }.reduce(0, +)
        phase.utilisation = Double(busy) / Double(max(1, enabled))
        report.phases.append(phase)
    }
    for (index, provider) in simulated.enumerated() {
        let log = logs[index]
        report.perProvider.append((
            provider.profile.name, log.count, log.filter { $0.answer == .rateLimited }.count,
            log.filter { $0.answer == .serverError }.count,
            Double(busySlotTime[0][index] + busySlotTime[1][index]) / Double(max(1, enabledSlotTime[0][index] + enabledSlotTime[1][index])),
            Double(disabledTime[index]) / Double(minute)
        ))
    }
    report.healthEvents = healthLog.withLock { $0 }
    return report
}

/// The tasks launched and answered, and how each ended.
final class Tally: Sendable {
    let launched = Atomic<Int>(0)
    let answered = Atomic<Int>(0)
    let outcomes = LockedValue<[(submittedAt: Int64, ok: Bool, wait: Int64?, timedOut: Bool)]>([])
}

/// Waits until the simulation is quiet, yielding to the tasks that are not; says so if it never
/// is (a miscounted quiet condition).
public func settle(_ quiet: () -> Bool) async {
    var spins = 0
    while !quiet() {
        await Task.yield()
        spins += 1
        if spins == 50_000_000 { print("the simulation does not settle") }
    }
}

/// `value` with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0 ..< digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let whole = scaled / Int(scale)
    let fraction = String(abs(scaled) % Int(scale))
    return "\(whole).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
}

/// The report's table: each target beside what was measured.
public func printAgentGuardReport(_ reports: [GuardReport]) {
    func percent(_ value: Double) -> String { format(value * 100, 1) + " %" }
    print("  providers:")
    for (name, profile) in agentProviders() { print("    \(name.padding(10)) \(profile)") }
    print("  guard: admission by priority (ageing one level per 15 s), 60 s queue timeout, 180 s per task;")
    print("         per provider a health gate, a bulkhead and an exact sliding-window RPM limit; fallback in that order\n")
    for report in reports {
        print("  load \(format(report.tasksPerMinute, 0)) tasks/min for 60 min")
        print("    target                    \(report.phases.map { $0.name.padding(22) }.joined())")
        func row(_ title: String, _ cell: (GuardPhase) -> (String, Bool)) {
            print("    \(title.padding(26))" + report.phases.map { phase in
                let (text, met) = cell(phase)
                return (text + (met ? "" : " !")).padding(22)
            }.joined())
        }
        row("tasks") { ("\($0.tasks)", true) }
        row("rate-limit hits < 1 %") { ("\(percent($0.hitRate)) of \($0.providerCalls)", $0.hitRate < 0.01) }
        row("utilisation 85-95 %") { (percent($0.utilisation), $0.utilisation >= 0.85 && $0.utilisation <= 0.95) }
        row("mean queue wait < 10 s") { ("\(format($0.meanWait, 2)) s (p95 \(format($0.p95Wait, 1)))", $0.meanWait < 10) }
        row("task success > 99 %") { ("\(percent($0.successRate)) (\($0.tasks - $0.succeeded) lost)", $0.successRate > 0.99) }
        print("    (! marks a target not met)")
        print("    provider    calls  429s  500s  utilisation  disabled")
        for p in report.perProvider {
            print("    \(p.name.padding(10))  \(String(p.calls).leftPadding(5))  \(String(p.hits).leftPadding(4))  \(String(p.errors).leftPadding(4))  \(percent(p.utilisation).leftPadding(11))  \(format(p.disabledMinutes, 1)) min")
        }
        for event in report.healthEvents { print("    \(event)") }
        print("")
    }
}

func mark(_ met: Bool) -> String { met ? "met" : "NOT met" }

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
