import BulwarkCore
import BulwarkEngine
import BulwarkTestSupport
import Testing

@Suite("Engine parts: the cached clock, the FIFO order")
struct EngineTests {
    @Test("a cached clock reads ContinuousClock's time line, moves only when refreshed, shares its reading with copies, and its runner refreshes until cancelled", .timeLimit(minutes: 1))
    func cachedClock() async throws {
        let beforeCreation = ContinuousClock().nowNanoseconds
        let clock = try CachedClock(refreshInterval: .microseconds(100))
        let afterCreation = ContinuousClock().nowNanoseconds
        let copy = clock
        let first = clock.nowNanoseconds
        // Created from a system reading taken during init.
        #expect(first >= beforeCreation && first <= afterCreation)
        // Real time moves on; nothing refreshes the reading, so it does not follow.
        try await Task.sleep(for: .milliseconds(2))
        let real = ContinuousClock().nowNanoseconds
        #expect(real > first)
        #expect(clock.nowNanoseconds == first)
        // One refresh carries it to the system's reading of that moment, between the readings around it.
        clock.refresh()
        let afterRefresh = ContinuousClock().nowNanoseconds
        let refreshed = clock.nowNanoseconds
        #expect(refreshed >= real && refreshed <= afterRefresh)
        // A copy made before the refresh sees it: copies share one reading.
        #expect(copy.nowNanoseconds == refreshed)
        #expect(clock.now.nanoseconds == refreshed)
        #expect(clock.minimumResolution == .microseconds(100))

        // The runner refreshes by itself: the reading reaches a real instant taken after it started.
        let runner = Task { await clock.run() }
        let mark = ContinuousClock().nowNanoseconds
        await eventually { clock.nowNanoseconds >= mark }
        #expect(clock.nowNanoseconds >= mark)
        // Cancelled, it returns (a runner that ignored cancellation would hang here until the time
        // limit) and the reading stands still again, though twenty refresh intervals pass.
        runner.cancel()
        await runner.value
        let stopped = clock.nowNanoseconds
        try await Task.sleep(for: .milliseconds(2))
        #expect(ContinuousClock().nowNanoseconds > stopped)
        #expect(clock.nowNanoseconds == stopped)
        #expect(throws: BulwarkError.invalidConfiguration(field: "refreshInterval", rule: "must be positive")) {
            _ = try CachedClock(refreshInterval: .zero)
        }
    }

    @Test("a cached clock sleeps until its own reading passes the deadline, not the system's", .timeLimit(minutes: 1))
    func cachedClockSleep() async throws {
        let clock = try CachedClock(refreshInterval: .microseconds(200))
        let deadline = clock.now.advanced(by: .milliseconds(1))
        let woke = Counter()
        let sleeper = Task {
            try await clock.sleep(until: deadline)
            woke.add(1)
        }
        // Real time passes the deadline, but no refresh carries the reading there: the sleeper sleeps on.
        try await Task.sleep(for: .milliseconds(5))
        #expect(ContinuousClock().nowNanoseconds > deadline.nanoseconds)
        #expect(clock.now < deadline)
        #expect(woke.value == 0)
        // One refresh moves the reading past the deadline; the sleeper wakes at its next check.
        clock.refresh()
        #expect(clock.now >= deadline)
        try await sleeper.value
        #expect(woke.value == 1)
        // A sleeper is cancelled with CancellationError, however far its deadline.
        let far = Task { try await clock.sleep(until: clock.now.advanced(by: .seconds(3600))) }
        far.cancel()
        await #expect(throws: CancellationError.self) { try await far.value }
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
}
