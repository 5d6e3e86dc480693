import BulwarkCore
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("ManualClock", .timeLimit(minutes: 1))
struct ManualClockTests {
    @Test("time moves only when advanced, and never backwards")
    func advancing() {
        let clock = ManualClock()
        #expect(clock.nowNanoseconds == 0)
        clock.advance(by: .milliseconds(1_500))
        #expect(clock.now == NanosecondInstant(nanoseconds: 1_500_000_000))
        clock.advance(by: .seconds(-1))
        clock.advance(to: NanosecondInstant(nanoseconds: 10))
        #expect(clock.nowNanoseconds == 1_500_000_000)
        #expect(clock.minimumResolution == .nanoseconds(1))
    }

    @Test("concurrent advances add up")
    func concurrentAdvances() async {
        let clock = ManualClock()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0 ..< 4 {
                group.addTask { for _ in 0 ..< 1_000 { clock.advance(by: .nanoseconds(1)) } }
            }
        }
        #expect(clock.nowNanoseconds == 4_000)
    }

    @Test("a sleeper wakes when the clock reaches its deadline, not before")
    func sleeping() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(2))) }
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == NanosecondInstant(nanoseconds: 2_000_000_000))
        clock.advance(by: .nanoseconds(1_999_999_999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .nanoseconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.nextDeadline == nil)
    }

    @Test("sleeping until a past instant returns at once")
    func pastDeadline() async throws {
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 100))
        try await clock.sleep(until: NanosecondInstant(nanoseconds: 50))
        try await clock.sleep(untilNanoseconds: 100)
    }

    @Test("sleepers wake in deadline order")
    func order() async throws {
        let clock = ManualClock()
        let journal = Journal<Int>()
        let tasks = [3, 1, 2].map { second in
            Task {
                try await clock.sleep(for: .seconds(second))
                journal.append(second)
            }
        }
        await clock.waitForSleepers(count: 3)
        clock.advance(by: .seconds(1))
        try await tasks[1].value
        clock.advance(by: .seconds(1))
        try await tasks[2].value
        clock.advance(by: .seconds(1))
        try await tasks[0].value
        #expect(journal.all == [1, 2, 3])
    }

    @Test("waiting for sleepers ends when the waiting task is cancelled, and only then without a sleeper")
    func waitForSleepersCancellation() async throws {
        let clock = ManualClock()
        let journal = Journal<String>()
        // An uncancelled waiter: only a sleeper may release it.
        let control = Task {
            await clock.waitForSleepers(count: 1)
            journal.append("control, \(clock.sleeperCount) asleep")
        }
        let waiter = Task {
            await clock.waitForSleepers(count: 1)
            journal.append("cancelled, \(clock.sleeperCount) asleep")
        }
        waiter.cancel()
        // Nobody sleeps on the clock yet, so only the cancellation can end this wait (a waiter that
        // ignored it would hang here until the suite's time limit).
        await waiter.value
        #expect(journal.all == ["cancelled, 0 asleep"])
        // Cancelled before it starts waiting: it returns at once too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await clock.waitForSleepers(count: 1)
            journal.append("early, \(clock.sleeperCount) asleep")
        }
        await early.value
        #expect(journal.all == ["cancelled, 0 asleep", "early, 0 asleep"])
        // The uncancelled waiter was not released by either: the first sleeper releases it, after them.
        let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
        await control.value
        #expect(journal.all == ["cancelled, 0 asleep", "early, 0 asleep", "control, 1 asleep"])
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
    }

    @Test("a cancelled sleeper throws CancellationError and leaves the clock")
    func cancellation() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        await clock.waitForSleepers(count: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(5))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(clock.sleeperCount == 0)
    }
}
