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

    @Test("priorities order from low to critical")
    func priorities() {
        #expect(Priority.low < .normal && Priority.normal < .high && Priority.high < .critical)
        #expect(Priority.high.description == "high")
        #expect(Priority(rawValue: 7).description == "7")
    }

    @Test("a context carries its waiting options")
    func context() {
        let context = ResilienceContext(operationName: "chat", partitionKey: "key-1", priority: .high, cost: 300, deadline: .after(.seconds(1)))
        #expect(context.waitOptions == WaitOptions(deadline: .after(.seconds(1)), priority: .high, partitionKey: "key-1"))
        #expect(context.cost == 300 && context.operationName == "chat")
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
