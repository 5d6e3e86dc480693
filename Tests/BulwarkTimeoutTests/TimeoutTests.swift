import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTimeout
import Testing

@Suite(.timeLimit(minutes: 1)) struct TimeoutTests {
    @Test func anOperationThatHonoursCancellationEndsAtTheDeadline() async throws {
        let clock = ManualClock()
        let timeout = try Timeout(.seconds(5), clock: clock)
        let recorder = EventRecorder()
        timeout.events.attach(recorder)
        // The clock reading at which the operation saw its cancellation.
        let cancelledAt = Journal<Int64>()
        let call = Task {
            await timeout.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
                await .catching {
                    do {
                        try await clock.sleep(untilNanoseconds: 60_000_000_000)
                    } catch {
                        cancelledAt.append(clock.nowNanoseconds)
                        throw error
                    }
                    return 1
                }
            }
        }
        await clock.waitForSleepers(count: 2)  // the operation and the timer
        // One nanosecond before the deadline nothing has fired.
        clock.advance(by: .nanoseconds(4_999_999_999))
        #expect(clock.sleeperCount == 2)
        #expect(cancelledAt.all.isEmpty && recorder.kinds.isEmpty)
        clock.advance(by: .nanoseconds(1))
        let outcome = await call.value
        // Cancelled at the deadline itself: 5 s after the call started, not at its own 60 s.
        #expect(cancelledAt.all == [5_000_000_000])
        guard case .rejected(.timedOut(let after)) = outcome else {
            Issue.record("expected a timeout, got \(outcome)")
            return
        }
        #expect(after == .seconds(5))
        #expect(recorder.kinds == [.timeoutFired(after: .seconds(5))])
        #expect(!Task.isCancelled)  // the caller's task is not cancelled
    }

    @Test func aFastOperationIsNotTouched() async throws {
        let clock = ManualClock()
        let timeout = try Timeout(.seconds(5), clock: clock)
        let recorder = EventRecorder()
        timeout.events.attach(recorder)
        for value in 0 ..< 100 {
            #expect(try await timeout.execute(ResilienceContext(operationName: "x")) { _ in value * 3 + 1 } == value * 3 + 1)
        }
        // No call was cancelled: not one timeout fired.
        #expect(recorder.kinds.isEmpty)
    }

    @Test func anOperationThatIgnoresCancellationKeepsItsLateResult() async throws {
        let clock = ManualClock()
        let timeout = try Timeout(.seconds(1), clock: clock)
        let recorder = EventRecorder()
        timeout.events.attach(recorder)
        let call = Task {
            try await timeout.execute(ResilienceContext(operationName: "x")) { _ in
                // Ignores cancellation: sleeps on in a task of its own.
                await Task.detached { try? await clock.sleep(untilNanoseconds: 3_000_000_000) }.value
                return "late"
            }
        }
        await clock.waitForSleepers(count: 2)
        clock.advance(by: .seconds(1))
        await eventually { recorder.kinds.count == 0 && clock.sleeperCount == 1 }
        clock.advance(by: .seconds(2))
        #expect(try await call.value == "late")
        #expect(recorder.kinds == [.timeoutFired(after: .seconds(1))])
    }

    @Test func manyCallsWithDifferentDeadlinesEachTimeOutAtTheirOwn() async throws {
        let clock = ManualClock()
        let timeouts = try [1, 3, 2].map { try Timeout(.seconds($0), clock: clock) }
        let finished = Journal<Int>()
        await withTaskGroup(of: Void.self) { group in
            for (index, timeout) in timeouts.enumerated() {
                group.addTask {
                    let outcome = await timeout.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
                        await .catching {
                            try await clock.sleep(untilNanoseconds: 100_000_000_000)
                            return 0
                        }
                    }
                    if case .rejected(.timedOut) = outcome { finished.append(index) }
                }
            }
            await clock.waitForSleepers(count: 6)
            for _ in 0 ..< 3 {
                clock.advance(by: .seconds(1))
                let count = finished.all.count
                await eventually { finished.all.count == count + 1 }
            }
        }
        #expect(finished.all == [0, 2, 1])
    }

    @Test func concurrentCallsUnderOneTimeoutNeverLeak() async throws {
        // Real time: a fast call on a loaded machine may overrun 2 ms and time out too, so the
        // count is of order, not speed: every slow call times out, every call is answered once.
        let timeout = try Timeout(.milliseconds(2))
        let timedOut = Counter()
        let succeeded = Counter()
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    for call in 0 ..< 150 {
                        let slow = (task + call) % 10 == 0
                        let outcome = await timeout.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
                            await .catching {
                                if slow { try await Task.sleep(for: .seconds(10)) }
                                return 1
                            }
                        }
                        switch outcome {
                        case .success: succeeded.add(1)
                        case .rejected(.timedOut): timedOut.add(1)
                        default: Issue.record("unexpected \(outcome)")
                        }
                    }
                }
            }
        }
        #expect(timedOut.value >= 120)
        #expect(timedOut.value + succeeded.value == 1_200)
    }

    @Test func aZeroDurationIsRefusedByName() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "duration", rule: "must be at least 1 ns (got 0.0 seconds)")) {
            try Timeout(.zero)
        }
    }
}
