public import BulwarkCore

/// What the package's composites (chains, budgets, partitions, the bulkhead) need beyond
/// `tryAcquire` and `acquire`: a decision at a reading they share, the reading at which a cost was
/// admitted, and giving back or forcing a cost afterwards.
///
/// These are inlinable so that a composite built in a client module runs them specialized for
/// the client's algorithm and clock, as fast as `tryAcquire` itself.
extension InMemoryRateLimiter {
    /// Decides `cost` (already validated) at the clock reading `now` without waiting, and says at
    /// which reading an allowed cost was admitted.
    @inlinable @inline(__always)
    package func tryAdmit(cost: Int, at now: Int64) -> (decision: RateLimitDecision, admittedAt: Int64) {
        let admitted = state.withLock { state -> (decision: RateLimitDecision, admittedAt: Int64)? in
            guard _fastPath(state.waiting.count == 0) else { return nil }
            if cost > 0 { return (state.algorithm.tryConsume(cost, at: now), state.algorithm.updatedAt) }
            return (state.algorithm.snapshot(at: now, retryAfterNanoseconds: 0), now)
        }
        return admitted ?? decideArriving(cost, at: now)
    }

    /// The figures at `now` without taking anything (a probe).
    @inlinable
    package func snapshot(at now: Int64) -> RateLimitDecision {
        state.withLock { $0.algorithm.snapshot(at: now, retryAfterNanoseconds: 0) }
    }

    /// Nanoseconds from `now` until `cost` would be admitted, counting whoever is queued ahead;
    /// 0 when it would be admitted now, `Int64.max` when time alone cannot tell.
    @inlinable
    package func nanosecondsUntilAdmitted(cost: Int, at now: Int64) -> Int64 {
        state.withLock { state in
            guard cost > 0 else { return 0 }
            guard state.waiting.count > 0 else {
                return state.algorithm.nanosecondsUntilAvailable(cost, at: now)
            }
            return state.decideBehindQueue(cost, at: now).retryAfterNanoseconds
        }
    }

    /// For limits that time does not change (a concurrency limit): takes `cost` at the latest
    /// reading the state has seen, without reading the clock, when nobody waits; `nil` when
    /// someone does (the caller then decides at a fresh reading, which serving the queue needs).
    @inlinable
    package func tryAdmitAtLastReading(cost: Int) -> (decision: RateLimitDecision, admittedAt: Int64)? {
        state.withLock { state in
            guard _fastPath(state.waiting.count == 0) else { return nil }
            let now = state.algorithm.updatedAt
            return (state.algorithm.tryConsume(cost, at: now), now)
        }
    }

    /// For limits that time does not change: gives back `amount` at the latest reading the state
    /// has seen when nobody waits; otherwise reads the clock and serves the queue as `refund(_:admittedAt:at:)`.
    @inlinable
    package func refundAtLastReading(_ amount: Int, admittedAt: Int64) {
        let done = state.withLock { state -> Bool in
            guard _fastPath(state.waiting.count == 0) else { return false }
            state.algorithm.refund(amount, admittedAt: admittedAt, at: state.algorithm.updatedAt)
            return true
        }
        if !done { refund(amount, admittedAt: admittedAt, at: clock.nowNanoseconds) }
    }

    /// Gives back `amount` of a cost admitted at `admittedAt`, and admits whoever that lets in.
    @inlinable
    package func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        modify(at: now) { $0.refund(amount, admittedAt: admittedAt, at: now) }
    }

    /// Takes `amount` at `now` even if it is not available (debt, capped at one limit).
    @inlinable
    package func charge(_ amount: Int, at now: Int64) {
        modify(at: now) { $0.charge(amount, at: now) }
    }

    /// Changes the algorithm at `now` (a refund, a charge, a release that also moves an adaptive
    /// limit) and admits whoever that lets in; with nobody waiting, one lock and nothing else.
    @inlinable
    package func modify<Result>(at now: Int64, _ change: (inout Algorithm) -> Result) -> Result {
        let done = state.withLock { state -> Result? in
            guard state.waiting.count == 0 else { return nil }
            return change(&state.algorithm)
        }
        if let done { return done }
        return update(at: now, change)
    }

    /// The algorithm's value, if nobody waits: what a partition keeps once its waiting room is no
    /// longer needed. The caller guarantees that nobody uses this limiter afterwards.
    package func detachIfIdle() -> Algorithm? {
        state.withLock { state in state.waiting.count == 0 ? state.algorithm : nil }
    }
}
