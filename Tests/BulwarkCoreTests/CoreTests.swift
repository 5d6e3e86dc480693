import BulwarkCore
import Testing

@Suite("Core vocabulary")
struct CoreTests {
    @Test("durations convert to whole nanoseconds exactly, or not at all")
    func durationConversion() {
        #expect(Duration.seconds(60).exactNanoseconds == 60_000_000_000)
        #expect(Duration.nanoseconds(-5).exactNanoseconds == -5)
        #expect(Duration.nanoseconds(1.5).exactNanoseconds == nil)
        #expect(Duration.seconds(Int64.max).exactNanoseconds == nil)
        #expect(Duration.seconds(Int64.max).saturatingNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).saturatingNanoseconds == .min)
        #expect(Duration.nanoseconds(1.5).saturatingNanoseconds == 1)
    }

    @Test("nanosecond instants do exact arithmetic and saturate at the ends")
    func instants() {
        let instant = NanosecondInstant(nanoseconds: 1_000)
        #expect(instant.advanced(by: .microseconds(1)).nanoseconds == 2_000)
        #expect(instant.duration(to: NanosecondInstant(nanoseconds: 250)) == .nanoseconds(-750))
        #expect(NanosecondInstant(nanoseconds: .max).advanced(by: .seconds(1)).nanoseconds == .max)
        #expect(instant < NanosecondInstant(nanoseconds: 1_001))
        #expect(instant.description == "1000ns")
    }

    @Test("deadlines resolve relative to the entry time, or stay absolute")
    func deadlines() {
        #expect(Deadline.after(.seconds(2)).nanoseconds(resolvedAt: 500) == 2_000_000_500)
        #expect(Deadline.after(.seconds(-2)).nanoseconds(resolvedAt: 500) == 500)
        #expect(Deadline.after(.seconds(2)).nanoseconds(resolvedAt: .max) == .max)
        #expect(Deadline.at(nanoseconds: 42).nanoseconds(resolvedAt: 1_000) == 42)
        #expect(Deadline.at(NanosecondInstant(nanoseconds: 7)).nanoseconds(resolvedAt: 0) == 7)
        #expect(Deadline.after(.seconds(1)).resolved(at: 10) == .at(nanoseconds: 1_000_000_010))
        #expect(Deadline.after(.nanoseconds(3)).description == "after 3ns")
    }

    @Test("system clocks read their nanoseconds on the same time line as their instants")
    func systemClocks() async throws {
        for clock in [AnyNanosecondReader(ContinuousClock()), AnyNanosecondReader(SuspendingClock())] {
            let before = clock.nanoseconds()
            let elapsed = clock.measure()
            let after = clock.nanoseconds()
            #expect(after >= before)
            // The instant-based measure of the same interval cannot exceed the nanosecond-based one.
            #expect(elapsed <= after - before)
        }
        try await ContinuousClock().sleep(untilNanoseconds: ContinuousClock().nowNanoseconds - 1)
    }

    @Test("a cached clock moves only when refreshed, and its runner stops on cancellation")
    func cachedClock() async throws {
        let clock = try CachedClock(refreshInterval: .microseconds(100))
        let first = clock.nowNanoseconds
        #expect(clock.nowNanoseconds == first)
        // Refresh until the system clock has visibly moved (a few microseconds at most).
        while clock.nowNanoseconds == first { clock.refresh() }
        #expect(clock.nowNanoseconds > first)
        #expect(clock.now.nanoseconds == clock.nowNanoseconds)
        #expect(clock.minimumResolution == .microseconds(100))
        let runner = Task { await clock.run() }
        runner.cancel()
        await runner.value
        #expect(throws: BulwarkError.invalidConfiguration(field: "refreshInterval", rule: "must be positive")) {
            _ = try CachedClock(refreshInterval: .zero)
        }
    }

    @Test("a cached clock sleeps until its own reading passes the deadline")
    func cachedClockSleep() async throws {
        let clock = try CachedClock(refreshInterval: .microseconds(200))
        let runner = Task { await clock.run() }
        defer { runner.cancel() }
        let deadline = clock.now.advanced(by: .milliseconds(1))
        try await clock.sleep(until: deadline)
        #expect(clock.now >= deadline)
    }

    @Test("priorities order from low to critical")
    func priorities() {
        #expect(Priority.low < .normal && Priority.normal < .high && Priority.high < .critical)
        #expect(Priority.high.description == "high")
        #expect(Priority(rawValue: 7).description == "7")
    }

    @Test("a context carries its waiting options")
    func context() {
        let context = ResilienceContext(operation: "chat", partitionKey: "key-1", priority: .high, cost: 300, deadline: .after(.seconds(1)))
        #expect(context.waitOptions == WaitOptions(deadline: .after(.seconds(1)), priority: .high, partitionKey: "key-1"))
        #expect(context.cost == 300 && context.operationName == "chat")
    }

    @Test("FIFO order serves by arrival and removes from anywhere")
    func fifoOrder() {
        var order = FIFOWaitOrder()
        func ticket(_ id: UInt64) -> WaitTicket {
            WaitTicket(id: id, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: Int64(id))
        }
        for id in 1 ... 100 as ClosedRange<UInt64> { order.enqueue(ticket(id)) }
        #expect(order.next(at: 0)?.id == 1)
        let removedOnce = order.remove(ticket(50))
        let removedTwice = order.remove(ticket(50))
        #expect(removedOnce && !removedTwice)
        for id in 1 ... 40 as ClosedRange<UInt64> {
            let removed = order.remove(ticket(id))
            #expect(removed)
        }
        #expect(order.count == 59)
        #expect(order.next(at: 0)?.id == 41)
        var ids: [UInt64] = []
        var copy = order
        while let next = copy.next(at: 0) {
            ids.append(next.id)
            copy.remove(next)
        }
        #expect(ids == Array(41 ... 49) + Array(51 ... 100))
        for id in ids { order.remove(ticket(id)) }
        #expect(order.count == 0 && order.next(at: 0) == nil)
    }

    @Test("decisions compute their header figures lazily and exactly")
    func decisions() {
        let decision = RateLimitDecision(
            isAllowed: false, limit: 10, remainingUnits: 7, unitsPerPermit: 3, missingUnits: 23,
            unitsPerNanosecond: 2, resetBaseNanoseconds: 5, retryAfterNanoseconds: 1_000_000_001
        )
        #expect(decision.remaining == 2)
        #expect(decision.resetAfterNanoseconds == 5 + 12)
        #expect(decision.retryAfterSeconds == 2)
        #expect(decision.retryAfter == .nanoseconds(1_000_000_001))
    }
}

/// Reads any nanosecond clock through one type, for tables of clocks.
struct AnyNanosecondReader {
    let nanoseconds: () -> Int64
    let measure: () -> Int64

    init<C: NanosecondClock>(_ clock: C) {
        nanoseconds = { clock.nowNanoseconds }
        measure = {
            let start = clock.now
            let end = clock.now
            return start.duration(to: end).saturatingNanoseconds
        }
    }
}
