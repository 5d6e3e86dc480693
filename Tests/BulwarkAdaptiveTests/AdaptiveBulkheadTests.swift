import BulwarkAdaptive
import BulwarkSimulations
import BulwarkTestKit
import BulwarkTestSupport
import Synchronization
import Testing

/// The calls inside guarded bodies now, and the most ever seen at once.
final class Occupancy: Sendable {
    private let current = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)
    func enter() { highest.max(current.add(1, ordering: .relaxed).newValue, ordering: .relaxed) }
    func leave() { current.subtract(1, ordering: .relaxed) }
    var peak: Int { highest.load(ordering: .relaxed) }
}

/// Whether a permit was granted; a granted one is released (ignored) as the argument goes.
func granted(_ permit: consuming AdaptivePermit?) -> Bool {
    switch consume permit {
    case .some: true
    case .none: false
    }
}

@Suite("Adaptive bulkhead", .timeLimit(minutes: 1))
struct AdaptiveBulkheadTests {
    @Test("at most the current limit in flight; successes while busy raise it and admit waiters")
    func aimdRaises() async throws {
        let clock = ManualClock()
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 2, minimumLimit: 1, maximumLimit: 10)), clock: clock
        )
        let events = EventRecorder()
        bulkhead.events.attach(events)
        guard let first = try bulkhead.tryAcquirePermit(), let second = try bulkhead.tryAcquirePermit() else {
            Issue.record("no permit"); return
        }
        #expect(try !granted(bulkhead.tryAcquirePermit()))
        let waiter = Task { try await bulkhead.withPermit { 7 } }
        await eventually { bulkhead.waitingCount == 1 }
        clock.advance(by: .milliseconds(10))
        first.complete(.success)  // 2 in flight of 2: the limit grows to 3; the waiter and one more fit
        #expect(bulkhead.currentLimit == 3)
        #expect(try await waiter.value == 7)
        #expect(events.kinds.contains(.concurrencyLimitChanged(from: 2, to: 3)))
        second.complete(.ignored)
        #expect(bulkhead.inFlight == 0)
    }

    @Test("a drop shrinks the limit below what is in flight: nobody is admitted until enough calls end")
    func dropShrinks() throws {
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 4, minimumLimit: 1, maximumLimit: 10, backoffRatio: 0.5)),
            clock: ManualClock()
        )
        let permits = (0 ..< 4).map { _ in Held(try! bulkhead.tryAcquirePermit()!, work: 0) }
        permits[0].permit.take()?.complete(.dropped)  // ⌊4 × 0.5⌋ = 2, with 3 in flight
        #expect(bulkhead.currentLimit == 2 && bulkhead.inFlight == 3)
        #expect(try !granted(bulkhead.tryAcquirePermit()))
        permits[1].permit = nil  // out of scope: ignored, no sample
        permits[2].permit = nil
        #expect(bulkhead.currentLimit == 2 && bulkhead.inFlight == 1)
        #expect(try granted(bulkhead.tryAcquirePermit()))
    }

    @Test("execute classifies: a success samples, a timeout drops, a cancellation is ignored")
    func classification() async throws {
        let clock = ManualClock()
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 2, minimumLimit: 1, maximumLimit: 10)), clock: clock
        )
        let context = ResilienceContext(operationName: "call")
        _ = try await bulkhead.execute(context) { _ in 1 }  // 1 in flight of 2: at least half, + 1
        #expect(bulkhead.currentLimit == 3)
        await #expect(throws: BulwarkError.timedOut(after: .seconds(1))) {
            try await bulkhead.execute(context) { _ in throw BulwarkError.timedOut(after: .seconds(1)) }
        }
        #expect(bulkhead.currentLimit == 2)  // ⌊3 × 0.9⌋
        await #expect(throws: CancellationError.self) {
            try await bulkhead.execute(context) { _ in throw CancellationError() }
        }
        await #expect(throws: Failure.self) { try await bulkhead.execute(context) { _ in throw Failure() } }
        #expect(bulkhead.currentLimit == 2 && bulkhead.inFlight == 0)
        typealias Adaptive = AdaptiveBulkhead<AIMDLimit, ManualClock>
        struct UpstreamTooManyRequests: Error, RetryAfterProviding { var retryAfter: Duration? = .seconds(1) }
        #expect(Adaptive.defaultClassification(UpstreamTooManyRequests()) == .dropped)  // the dependency's 429
        #expect(Adaptive.defaultClassification(BulwarkError.overloaded(reason: "cpu")) == .dropped)
        #expect(Adaptive.defaultClassification(BulwarkError.rateLimited(retryAfter: .seconds(1))) == .ignored)  // our own refusal
        #expect(Adaptive.defaultClassification(Failure()) == .ignored)
    }

    @Test("a cost above the maximum limit is an error naming the field; readiness takes nothing")
    func validation() async throws {
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 2, minimumLimit: 1, maximumLimit: 3)), clock: ManualClock()
        )
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be between 1 and the maximum limit 3 (got 4)")) {
            _ = try granted(bulkhead.tryAcquirePermit(cost: 4))
        }
        #expect(bulkhead.readiness(for: ResilienceContext(operationName: "x", cost: 2)) == .ready)
        #expect(bulkhead.readiness(for: ResilienceContext(operationName: "x", cost: 3)) == .notReady(retryAfter: nil))
        #expect(bulkhead.inFlight == 0)
    }

    @Test("Vegas converges near the knee of a service whose latency rises past 10 in flight")
    func vegasConverges() throws {
        let clock = ManualClock()
        let bulkhead = try AdaptiveBulkhead(
            VegasLimit(configuration: .init(initialLimit: 4, maximumLimit: 200, seed: 1)), clock: clock
        )
        let trace = simulate(bulkhead, clock: clock, knee: 10, base: 100_000_000, completions: 20_000)
        let settled = trace.suffix(100).sorted()
        #expect(settled[50] >= 10 && settled[50] <= 20, "median \(settled[50]): \(trace)")
        #expect(settled[10] >= 8 && settled[90] <= 25, "\(trace)")
    }

    @Test("AIMD with a timeout of twice the base latency: a sawtooth around the knee")
    func aimdSawtooth() throws {
        let clock = ManualClock()
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 4, minimumLimit: 1, maximumLimit: 200, timeout: .milliseconds(200))),
            clock: clock
        )
        let trace = simulate(bulkhead, clock: clock, knee: 10, base: 100_000_000, completions: 20_000)
        let settled = trace.suffix(100)
        let mean = Double(settled.reduce(0, +)) / Double(settled.count)
        #expect(mean >= 5 && mean <= 30 && settled.max()! <= 50, "\(trace)")
    }

    @Test("Gradient2 cuts its limit when latency jumps, and (as Netflix's) climbs again once the new latency is the norm")
    func gradientFollowsChanges() throws {
        let clock = ManualClock()
        let bulkhead = try AdaptiveBulkhead(
            Gradient2Limit(configuration: .init(initialLimit: 50, minimumLimit: 1, maximumLimit: 200)), clock: clock
        )
        // Below the knee of 100: latency flat, the limit grows by the queue allowance.
        let calm = simulate(bulkhead, clock: clock, knee: 100, base: 100_000_000, completions: 2_000)
        #expect(calm.last! > 50, "\(calm)")
        // The service loses nine tenths of its capacity: latency jumps, the limit is cut.
        let before = bulkhead.currentLimit
        let shock = simulate(bulkhead, clock: clock, knee: 10, base: 100_000_000, completions: 300, every: 10)
        #expect(shock.min()! < before / 2, "\(before) then \(shock)")
    }

    @Test("many tasks through the bulkhead while its limit moves: no permit leaks")
    func stress() async throws {
        let bulkhead = try AdaptiveBulkhead(
            AIMDLimit(configuration: .init(initialLimit: 4, minimumLimit: 1, maximumLimit: 16, backoffRatio: 0.5)),
            queueLimit: 10_000
        )
        let occupancy = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 32 {
                group.addTask {
                    for index in 0 ..< 200 {
                        _ = try? await bulkhead.execute(ResilienceContext(operationName: "x")) { _ in
                            occupancy.enter()
                            defer { occupancy.leave() }
                            if (task + index) % 7 == 0 { throw BulwarkError.timedOut(after: .seconds(1)) }
                            await Task.yield()
                        }
                    }
                }
            }
        }
        #expect(bulkhead.inFlight == 0 && bulkhead.waitingCount == 0)
        #expect(occupancy.peak <= 16)
    }
}
