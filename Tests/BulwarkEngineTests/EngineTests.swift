import BulwarkCore
import BulwarkEngine
import Testing

@Suite("Engine parts: the cached clock, the FIFO order")
struct EngineTests {
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
