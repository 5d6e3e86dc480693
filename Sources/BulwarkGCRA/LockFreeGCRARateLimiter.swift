#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import BulwarkCore
public import Synchronization

/// A GCRA limiter that keeps its theoretical arrival time in one `Atomic<Int64>`: `tryAcquire` is
/// one clock read and a compare-exchange loop, with no lock.
///
/// It makes exactly the decisions of ``GCRA`` (and so of a token bucket of capacity `burst`),
/// through the same arithmetic, and never waits: a denied call gets its exact retry-after. For a
/// waiting queue use ``GCRARateLimiter``, which runs the same algorithm in the shared engine.
///
/// Under contention a caller retries its compare-exchange when another got in first; each retry
/// re-reads the TAT, not the clock. A reading a little older than another caller's (two threads
/// read the clock, the later one updates first) is judged at its own time, which only ever sees
/// more debt: the limiter may refuse such a caller by a few nanoseconds' worth, never admit too
/// much. Long before the TAT's origin falls too far behind for exact arithmetic (73 years for an
/// interval of whole nanoseconds, 38 minutes at 999,983 per second), one caller
/// moves it forward while the others wait a few instructions.
///
///     let limiter = try LockFreeGCRARateLimiter(rate: 1_000, per: .seconds(1), burst: 50)
///     if !(try limiter.tryAcquire()).isAllowed { /* 429 */ }
public final class LockFreeGCRARateLimiter<C: NanosecondClock>: OutcomePolicy {
    /// The arithmetic and configuration; its own state is not used.
    @usableFromInline let rules: GCRA
    /// The TAT in units after ``origin``; `Int64.min` while one caller moves the origin.
    @usableFromInline let arrival: Atomic<Int64>
    /// The clock reading the TAT is counted from.
    @usableFromInline let origin: Atomic<Int64>
    /// The clock the limiter reads.
    public let clock: C

    /// Where the limiter's events go: its denials.
    public let events = EventChannel(defaultName: "GCRA")

    /// Marks the TAT while the origin moves.
    @usableFromInline static var moving: Int64 { .min }

    /// The burst: the largest cost admitted at once.
    public var limit: Int { rules.limit }

    /// Creates a limiter with a full burst available now.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(configuration: GCRA.Configuration, clock: C = ContinuousClock()) throws(BulwarkError) {
        let now = clock.nowNanoseconds
        self.rules = try GCRA(configuration: configuration, now: now)
        self.arrival = Atomic(0)
        self.origin = Atomic(now)
        self.clock = clock
    }

    /// Creates a limiter admitting `rate` per `period` with bursts up to `burst`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(rate: Int, per period: Duration, burst: Int? = nil, clock: C = ContinuousClock()) throws(BulwarkError) {
        try self.init(configuration: .init(rate: rate, per: period, burst: burst), clock: clock)
    }

    /// Takes `cost` if it is available now; never waits, never locks, never allocates.
    ///
    /// A cost of zero is a probe: allowed, takes nothing.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `cost` is negative or above
    ///   the burst.
    @inlinable
    public func tryAcquire(cost: Int = 1) throws(BulwarkError) -> RateLimitDecision {
        guard cost >= 0, cost <= rules.limit else { throw invalidCost(cost) }
        let now = clock.nowNanoseconds
        while true {
            let current = arrival.load(ordering: .acquiring)
            let origin = origin.load(ordering: .acquiring)
            if _slowPath(current == Self.moving || now &- origin > rules.horizon / 2) {
                moveOrigin(to: now)
                continue
            }
            let time = rules.units(now, from: origin)
            if cost == 0 {
                // A probe reads a consistent pair only if the TAT did not move meanwhile.
                guard arrival.load(ordering: .acquiring) == current else { continue }
                return rules.decision(allowed: true, debt: max(current, time) &- time, lag: 0, retryAfter: 0)
            }
            let (next, decision) = rules.decide(cost, arrival: current, time: time, lag: 0)
            if !decision.isAllowed {
                // Judged on a consistent pair only if the TAT did not move meanwhile.
                if arrival.load(ordering: .acquiring) == current {
                    events.emit(.limiterDenied(cost: cost, retryAfter: decision.retryAfter))
                    return decision
                }
                continue
            }
            if arrival.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing).exchanged {
                return decision
            }
        }
    }

    /// Moves the TAT back by `amount` intervals (never before now): gives back a cost admitted
    /// earlier, exactly as if it had taken that much less.
    public func refund(_ amount: Int) {
        update { rules.refunded($0, by: amount, time: $1) }
    }

    /// Moves the TAT forward by `amount` intervals even past the burst (debt, at most one burst).
    public func charge(_ amount: Int) {
        update { rules.charged($0, by: amount, time: $1) }
    }

    /// Not ready when the context's cost would be denied now (a probe, which takes nothing, shows
    /// less remaining than the cost, or the cost is invalid); the retry-after is then not given.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard let probe = try? tryAcquire(cost: 0), context.cost >= 0 else { return .notReady(retryAfter: nil) }
        return probe.remaining >= context.cost ? .ready : .notReady(retryAfter: nil)
    }

    /// Takes the context's cost if it is available now, then runs `operation`; never waits. A
    /// denial is `ExecutionOutcome/rejected(_:)` with the exact retry-after, unboxed.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let decision: RateLimitDecision
        do {
            decision = try tryAcquire(cost: context.cost)
        } catch {
            return .rejected(error)
        }
        guard decision.isAllowed else { return .rejected(.rateLimited(retryAfter: decision.retryAfter)) }
        return await operation(context)
    }

    @usableFromInline
    func invalidCost(_ cost: Int) -> BulwarkError {
        .invalidArgument(
            field: "cost",
            rule: cost < 0 ? "must be at least 0 (got \(cost))" : "must be at most the burst \(rules.limit) (got \(cost))"
        )
    }

    /// Applies `change(arrival, now)` (both in units) with a compare-exchange loop.
    private func update(_ change: (Int64, Int64) -> Int64) {
        let now = clock.nowNanoseconds
        while true {
            let current = arrival.load(ordering: .acquiring)
            let origin = origin.load(ordering: .acquiring)
            if current == Self.moving || now &- origin > rules.horizon / 2 {
                moveOrigin(to: now)
                continue
            }
            let next = change(current, rules.units(now, from: origin))
            if arrival.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing).exchanged {
                return
            }
        }
    }

    /// Counts the TAT from `now` instead (once it is half a horizon behind), or waits for the
    /// caller already doing so. The TAT is marked while the origin moves, so every other update's
    /// compare-exchange fails and retries with the new pair.
    @usableFromInline
    func moveOrigin(to now: Int64) {
        let current = arrival.load(ordering: .acquiring)
        guard current != Self.moving else {
            _ = sched_yield()
            return
        }
        guard arrival.compareExchange(expected: current, desired: Self.moving, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        let start = origin.load(ordering: .acquiring)
        var moved = GCRA.State(origin: start, arrival: current, updatedAt: now)
        if now &- start > rules.horizon / 2 {
            moved = GCRA.rebased(moved, to: now, unitsPerNanosecond: rules.unitsPerNanosecond, horizon: rules.horizon)
            origin.store(moved.origin, ordering: .releasing)
        }
        arrival.store(moved.arrival, ordering: .releasing)
    }
}

