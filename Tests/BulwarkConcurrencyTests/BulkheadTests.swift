import BulwarkConcurrency
import BulwarkTestKit
import BulwarkTestSupport
import Synchronization
import Testing

struct Failure: Error {}

/// The units inside guarded bodies now, and the most ever seen at once.
final class Occupancy: Sendable {
    private let current = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)
    func enter(_ cost: Int) { highest.max(current.add(cost, ordering: .relaxed).newValue, ordering: .relaxed) }
    func leave(_ cost: Int) { current.subtract(cost, ordering: .relaxed) }
    var peak: Int { highest.load(ordering: .relaxed) }
}

/// Whether a permit was granted; a granted one is released as the argument goes out of scope.
func granted(_ permit: consuming BulkheadPermit?) -> Bool {
    switch consume permit {
    case .some: true
    case .none: false
    }
}

@Suite("Bulkhead", .timeLimit(minutes: 1))
struct BulkheadTests {
    @Test("at most the limit in flight, weighted; a permit goes back on release or when it goes out of scope")
    func permits() throws {
        let bulkhead = try Bulkhead(limit: 5, clock: ManualClock())
        guard let first = try bulkhead.tryAcquirePermit(cost: 3) else { Issue.record("no permit"); return }
        #expect(bulkhead.inFlight == 3)
        #expect(try !granted(bulkhead.tryAcquirePermit(cost: 3)))
        do {
            guard let second = try bulkhead.tryAcquirePermit(cost: 2) else { Issue.record("no permit"); return }
            #expect(second.cost == 2 && bulkhead.inFlight == 5)
        }  // `second` went out of scope: released by its deinit
        #expect(bulkhead.inFlight == 3)
        first.release()
        #expect(bulkhead.inFlight == 0)
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be between 1 and the limit 5 (got 6)")) {
            _ = try bulkhead.tryAcquirePermit(cost: 6)
        }
    }

    @Test("withPermit releases when the body returns, throws, or is cancelled")
    func scoped() async throws {
        let bulkhead = try Bulkhead(limit: 2, clock: ManualClock())
        #expect(try await bulkhead.withPermit { bulkhead.inFlight } == 1)
        await #expect(throws: Failure.self) { try await bulkhead.withPermit { throw Failure() } }
        let started = Counter()
        let running = Task {
            try await bulkhead.withPermit(cost: 2) {
                started.add(1)
                try await Task.sleep(for: .seconds(3_600))  // cancelled long before: no test waits on it
            }
        }
        await eventually { started.value == 1 }
        #expect(bulkhead.inFlight == 2)
        running.cancel()
        await #expect(throws: CancellationError.self) { try await running.value }
        #expect(bulkhead.inFlight == 0)
    }

    @Test("waiters are admitted as permits come back, in FIFO or LIFO order", arguments: [false, true])
    func order(lifo: Bool) async throws {
        let bulkhead = try Bulkhead(limit: 1, order: lifo ? LIFOWaitOrder() : FIFOWaitOrder(), clock: ManualClock())
        guard let holder = try bulkhead.tryAcquirePermit() else { Issue.record("no permit"); return }
        let journal = Journal<Int>()
        var tasks: [Task<Void, any Error>] = []
        for index in 0 ..< 4 {
            tasks.append(Task { try await bulkhead.withPermit { journal.append(index) } })
            await eventually { bulkhead.waitingCount == index + 1 }
        }
        holder.release()
        for task in tasks { try await task.value }
        #expect(journal.all == (lifo ? [3, 2, 1, 0] : [0, 1, 2, 3]))
        #expect(bulkhead.inFlight == 0)
    }

    @Test("a waiter that times out holds nothing; execute is the bulkhead as a policy")
    func timeoutAndExecute() async throws {
        let clock = ManualClock()
        let bulkhead = try Bulkhead(limit: 1, clock: clock)
        guard let holder = try bulkhead.tryAcquirePermit() else { Issue.record("no permit"); return }
        let late = Task { try await bulkhead.execute(ResilienceContext(operationName: "call", deadline: .after(.seconds(1)))) { _ in 1 } }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: BulwarkError.waitTimedOut) { try await late.value }
        holder.release()
        #expect(try await bulkhead.execute(ResilienceContext(operationName: "call")) { $0.operationName } == "call")
        #expect(bulkhead.inFlight == 0 && bulkhead.waitingCount == 0)
    }

    @Test("a storm of weighted callers with deadlines and cancellations never exceeds the limit and leaks nothing", arguments: 1 ... 3)
    func storm(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let bulkhead = try Bulkhead(limit: 6, queueLimit: 10_000)
        let occupancy = Occupancy()
        let completed = Counter()
        var tasks: [Task<Void, Never>] = []
        for _ in 0 ..< 400 {
            let cost = Int.random(in: 1 ... 3, using: &random)
            let deadline: Deadline? = Bool.random(using: &random) ? nil : .after(.microseconds(Int64.random(in: 0 ... 2_000, using: &random)))
            tasks.append(Task {
                _ = try? await bulkhead.withPermit(cost: cost, options: WaitOptions(deadline: deadline)) {
                    occupancy.enter(cost)
                    await Task.yield()
                    occupancy.leave(cost)
                    completed.add(1)
                }
            })
            if Int.random(in: 0 ..< 5, using: &random) == 0 { tasks.randomElement(using: &random)?.cancel() }
        }
        for task in tasks { await task.value }
        #expect(occupancy.peak <= 6)
        #expect(completed.value > 0)
        #expect(bulkhead.inFlight == 0 && bulkhead.waitingCount == 0)
    }
}
