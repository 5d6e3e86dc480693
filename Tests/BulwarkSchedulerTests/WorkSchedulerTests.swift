import Bulwark
import BulwarkScheduler
import BulwarkTestKit
import BulwarkTestSupport
import ServiceLifecycleTestKit
import Synchronization
import Testing

struct Task_: Codable, Sendable, Hashable {
    var name: String
    var fails = false
}

struct Boom: Error, CustomStringConvertible {
    var description: String { "boom" }
}

/// Runs `scheduler` as a service while `body` runs, then shuts it down gracefully and waits.
func runningService<Output: Sendable, C: NanosecondClock>(
    _ scheduler: WorkScheduler<Task_, Output, C>, _ body: () async throws -> Void
) async throws {
    try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await scheduler.run() }
            try await body()
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

@Suite("Work scheduler", .timeLimit(minutes: 1))
struct WorkSchedulerTests {
    @Test("submit returns the job's result; N workers run at most N jobs at once, and reach N")
    func concurrency() async throws {
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 4, clock: ManualClock()) { job, _ in
            let now = running.add(1, ordering: .relaxed).newValue
            peak.max(now, ordering: .relaxed)
            for _ in 0 ..< 10 { await Task.yield() }
            running.subtract(1, ordering: .relaxed)
            return job.name.uppercased()
        }
        try await runningService(scheduler) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0 ..< 200 {
                    group.addTask { try await scheduler.submit(Task_(name: "job\(index)")) == "JOB\(index)" }
                }
                for try await ok in group { #expect(ok) }
            }
        }
        #expect(peak.load(ordering: .relaxed) == 4)
        #expect(scheduler.statistics.succeeded == 200)
    }

    @Test("a job that fails after its retries is answered with its error and dead-lettered with its attempts; replay runs it again")
    func deadLetters() async throws {
        let clock = ManualClock()
        var retry = RetryConfiguration(maximumAttempts: 3)
        retry.backoff = .constant(.zero)
        let fixed = Atomic<Bool>(false)
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(
            workers: 2, pipeline: try Retry(configuration: retry, clock: clock), clock: clock
        ) { job, context in
            if job.fails, !fixed.load(ordering: .relaxed) { throw Boom() }
            return "\(job.name) on attempt \(context.attempt)"
        }
        try await runningService(scheduler) {
            await #expect(throws: Boom.self) { try await scheduler.submit(Task_(name: "bad", fails: true), priority: .high, partitionKey: "t") }
            try scheduler.enqueue(Task_(name: "bad-too", fails: true))
            await eventuallyAsync { (try? await scheduler.deadLetters.count()) == 2 }
            let letters = try await scheduler.deadLetters.letters()
            #expect(letters.map(\.job.name).sorted() == ["bad", "bad-too"])
            #expect(letters.allSatisfy { $0.attempts == 3 && $0.error == "boom" })
            #expect(letters.first { $0.job.name == "bad" }?.priority == .high)
            fixed.store(true, ordering: .relaxed)
            let results = Journal<String>()
            let report = await scheduler.deadLetters.replay { letter in
                results.append(try await scheduler.submit(letter.job, priority: letter.priority, partitionKey: letter.partitionKey))
            }
            #expect(report.replayed.count == 2 && report.failed.isEmpty)
            #expect(results.all.sorted() == ["bad on attempt 1", "bad-too on attempt 1"])
            #expect(try await scheduler.deadLetters.count() == 0)
        }
        #expect(scheduler.statistics.failed == 2 && scheduler.statistics.succeeded == 2)
    }

    @Test("a job whose deadline passes while queued is answered with a timeout at that deadline")
    func deadline() async throws {
        let clock = ManualClock()
        let gate = AsyncGate()
        let started = Journal<String>()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 1, clock: clock) { job, _ in
            started.append(job.name)
            if job.name == "blocker" { await gate.wait() }
            return job.name
        }
        try await runningService(scheduler) {
            async let blocker = scheduler.submit(Task_(name: "blocker"))
            await eventually { started.all == ["blocker"] }
            let late = Task { try await scheduler.submit(Task_(name: "late"), deadline: .after(.seconds(2))) }
            try scheduler.enqueue(Task_(name: "forgotten"), deadline: .after(.seconds(2)))
            await eventually { scheduler.queuedCount == 2 }
            await clock.waitForSleepers(count: 1)
            clock.advance(by: .seconds(2))
            await #expect(throws: BulwarkError.waitTimedOut) { try await late.value }
            await gate.open()
            #expect(try await blocker == "blocker")
            await eventuallyAsync { (try? await scheduler.deadLetters.count()) == 1 }
            #expect(try await scheduler.deadLetters.letters().first?.error == BulwarkError.waitTimedOut.description)
        }
        #expect(scheduler.statistics.expired == 2)
    }

    @Test("priority order: queued VIP work runs first")
    func priority() async throws {
        let gate = AsyncGate()
        let order = Journal<String>()
        let scheduler = try WorkScheduler<Task_, Void, ManualClock>(
            workers: 1, order: try PriorityWaitOrder(), clock: ManualClock()
        ) { job, _ in
            if job.name == "blocker" { await gate.wait() } else { order.append(job.name) }
        }
        try await runningService(scheduler) {
            try scheduler.enqueue(Task_(name: "blocker"))
            await eventually { scheduler.queuedCount == 0 }
            try scheduler.enqueue(Task_(name: "bulk-1"), priority: .low)
            try scheduler.enqueue(Task_(name: "bulk-2"), priority: .low)
            try scheduler.enqueue(Task_(name: "vip"), priority: .critical)
            await gate.open()
            await eventually { order.all.count == 3 }
        }
        #expect(order.all == ["vip", "bulk-1", "bulk-2"])
    }

    @Test("graceful shutdown, drain: intake stops and every queued job runs")
    func drain() async throws {
        let gate = AsyncGate()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 1, clock: ManualClock()) { job, _ in
            await gate.wait()
            return job.name
        }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                async let first = scheduler.submit(Task_(name: "a"))
                async let second = scheduler.submit(Task_(name: "b"))
                await eventually { scheduler.queuedCount == 1 }
                trigger.triggerGracefulShutdown()
                await #expect(throws: BulwarkError.shutDown) { try await scheduler.submit(Task_(name: "c")) }
                await gate.open()
                #expect(try await [first, second].sorted() == ["a", "b"])
                try await group.waitForAll()
            }
        }
    }

    @Test("graceful shutdown, hand back: queued submitters get shutDown, queued fire-and-forget jobs are dead-lettered")
    func handBack() async throws {
        let gate = AsyncGate()
        let ran = Journal<String>()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 1, shutdownMode: .handBack, clock: ManualClock()) { job, _ in
            ran.append(job.name)
            await gate.wait()
            return job.name
        }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run() }
                async let running = scheduler.submit(Task_(name: "running"))
                await eventually { ran.all.count == 1 }
                let queued = Task { try await scheduler.submit(Task_(name: "queued")) }
                try scheduler.enqueue(Task_(name: "queued-forget"))
                await eventually { scheduler.queuedCount == 2 }
                trigger.triggerGracefulShutdown()
                await #expect(throws: BulwarkError.shutDown) { try await queued.value }
                await gate.open()
                #expect(try await running == "running")  // the running job finishes
                try await group.waitForAll()
            }
        }
        #expect(try await scheduler.deadLetters.letters().map(\.job.name) == ["queued-forget"])
        #expect(ran.all == ["running"] && scheduler.statistics.handedBack == 2)
    }

    @Test("cancelling run(): the running job sees it, nothing more is taken, the queue is handed back")
    func cancelRun() async throws {
        let gate = AsyncGate()
        let ran = Journal<String>()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 1, clock: ManualClock()) { job, _ in
            ran.append(job.name)
            await gate.wait()
            if Task.isCancelled { throw CancellationError() }
            return job.name
        }
        let service = Task { try await scheduler.run() }
        let running = Task { try await scheduler.submit(Task_(name: "running")) }
        await eventually { ran.all.count == 1 }
        let queued = Task { try await scheduler.submit(Task_(name: "queued")) }
        try scheduler.enqueue(Task_(name: "queued-forget"))
        await eventually { scheduler.queuedCount == 2 }
        service.cancel()
        await gate.open()
        await #expect(throws: CancellationError.self) { try await running.value }
        await #expect(throws: BulwarkError.shutDown) { try await queued.value }
        try await service.value
        #expect(ran.all == ["running"])
        #expect(try await scheduler.deadLetters.letters().map(\.job.name).sorted() == ["queued-forget", "running"])
    }

    @Test("a submitter cancelled while queued takes its job out; it never runs")
    func cancelQueued() async throws {
        let gate = AsyncGate()
        let ran = Journal<String>()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(workers: 1, clock: ManualClock()) { job, _ in
            ran.append(job.name)
            if job.name == "blocker" { await gate.wait() }
            return job.name
        }
        try await runningService(scheduler) {
            async let blocker = scheduler.submit(Task_(name: "blocker"))
            await eventually { ran.all.count == 1 }
            let waiting = Task { try await scheduler.submit(Task_(name: "cancelled")) }
            await eventually { scheduler.queuedCount == 1 }
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(scheduler.queuedCount == 0)
            await gate.open()
            _ = try await blocker
        }
        #expect(ran.all == ["blocker"])
    }

    @Test("stress: submitters, cancellations, deadlines and failures: every submit is answered, nothing is lost")
    func stress() async throws {
        let clock = ManualClock()
        let scheduler = try WorkScheduler<Task_, String, ManualClock>(
            workers: 3, order: try FairWaitOrder(), capacity: 50, overflow: .dropOldest, clock: clock
        ) { job, _ in
            for _ in 0 ..< 3 { await Task.yield() }
            if job.fails { throw Boom() }
            return job.name
        }
        let answered = Counter()
        let succeeded = Counter()
        try await runningService(scheduler) {
            await withTaskGroup(of: Void.self) { group in
                for index in 0 ..< 600 {
                    group.addTask {
                        let task = Task {
                            try await scheduler.submit(
                                Task_(name: "j\(index)", fails: index % 13 == 0), partitionKey: "t\(index % 3)",
                                deadline: index % 5 == 0 ? .after(.milliseconds(Int64(index % 7))) : nil
                            )
                        }
                        if index % 11 == 0 { task.cancel() }
                        if case .success = await task.result { succeeded.add(1) }
                        answered.add(1)
                        if index % 50 == 0 { clock.advance(by: .milliseconds(3)) }
                    }
                }
            }
        }
        let statistics = scheduler.statistics
        #expect(answered.value == 600)
        #expect(statistics.succeeded == succeeded.value)
        #expect(try await scheduler.deadLetters.count() == statistics.failed)
    }

    @Test("bad settings name the field")
    func badSettings() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "workers", rule: "must be at least 1 (got 0)")) {
            try WorkScheduler<Task_, String, ManualClock>(workers: 0, clock: ManualClock()) { job, _ in job.name }
        }
    }
}
