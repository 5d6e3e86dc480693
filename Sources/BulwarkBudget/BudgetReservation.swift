public import BulwarkChain
public import BulwarkCore

/// An estimate held in every dimension of a ``TokenBudget`` until the call it pays for is over:
/// settled exactly once with the real usage, or, dropped unsettled, kept at its estimate.
///
/// It cannot be copied, so it cannot be settled twice. A reservation that was refused
/// (``isReserved`` false) holds nothing and its settlement does nothing.
///
///     let reservation = try budget.tryReserve([1, 1_200, 4_000])
///     guard reservation.isReserved else { return tooManyRequests(reservation.decision.retryAfter) }
///     let reply = try await provider.chat(request)
///     try reservation.settle([1, reply.usage.input, reply.usage.output])
public struct BudgetReservation<C: NanosecondClock>: ~Copyable, Sendable {
    /// How a settlement ended.
    public enum Settlement: Sendable, Hashable {
        /// Settled: each dimension got back its surplus and was charged its overrun.
        case settled(refunded: Costs, charged: Costs)
        /// Too late: the reservation had expired and counts at its estimate.
        case expired
        /// Nothing was reserved.
        case notReserved
    }

    let budget: TokenBudget<C>?
    /// The budget's answer: allowed (reserved), or which dimension refused and for how long.
    public let decision: ChainDecision
    let taken: RateLimitChain<C>.Taken
    let context: ResilienceContext
    /// The clock reading from which a settlement is refused as expired.
    public let expiresAt: Int64

    init(budget: TokenBudget<C>?, decision: ChainDecision, taken: RateLimitChain<C>.Taken, context: ResilienceContext, expiresAt: Int64) {
        self.budget = budget
        self.decision = decision
        self.taken = taken
        self.context = context
        self.expiresAt = expiresAt
    }

    /// Whether the estimate was taken from every dimension.
    public var isReserved: Bool { decision.isAllowed }

    /// What was reserved in each dimension.
    public var estimate: Costs { taken.costs }

    /// Settles with the real usage (one figure per dimension): each dimension gets back what the
    /// estimate exceeded it by, and is charged what it exceeded the estimate by.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `actual` does not hold one
    ///   figure per dimension or holds a negative one; the reservation then counts at its estimate.
    @discardableResult
    public consuming func settle(_ actual: Costs) throws(BulwarkError) -> Settlement {
        guard let budget, isReserved else { return .notReserved }
        guard actual.count == taken.costs.count else {
            throw .invalidArgument(field: "actual", rule: "must hold one figure per dimension, \(taken.costs.count) (got \(actual.count))")
        }
        if let index = actual.firstIndex(where: { $0 < 0 }) {
            throw .invalidArgument(field: "actual[\(budget.dimensions[index])]", rule: "must be at least 0 (got \(actual[index]))")
        }
        let now = budget.chain.clock.nowNanoseconds
        guard now < expiresAt else { return .expired }
        return budget.settle(taken, actual: actual, at: now, context: context)
    }
}
