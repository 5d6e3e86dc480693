public import BulwarkChain
public import BulwarkCore

/// A result that says what it really cost, per dimension of a ``TokenBudget``: an LLM response
/// reporting its usage (`[1, inputTokens, outputTokens]`).
public protocol UsageReporting {
    /// The real cost of the call, one figure per budget dimension.
    var usage: Costs { get }
}

/// Several budgets checked together for LLM traffic (requests, input tokens and output tokens per
/// minute), reserved before a call with an estimate and settled after it with the real usage.
///
/// A budget's dimensions are the links of a `RateLimitChain`: each its own limiter (a segmented
/// window of 12 × 5 s, a token bucket), possibly partitioned per API key, all checked
/// all-or-nothing. ``tryReserve(_:context:)`` takes the estimate (prompt tokens + the maximum output)
/// from every dimension or from none; the ``BudgetReservation`` it returns is then settled with
/// the real usage: a surplus is given back exactly, an overrun is charged as debt that later
/// requests pay first (at most one limit of debt per dimension). A reservation that is never
/// settled keeps its estimate: dropping it settles at the estimate, and a settlement after
/// ``reservationTimeout`` is refused as expired. A request larger than a dimension's limit is an
/// error naming the dimension, not a denial.
///
/// As a `ResiliencePolicy` it reserves `estimate(context)`, runs the operation, and settles
/// with the real usage, read in this order:
/// 1. the `usage` reader given at creation, when it answers for the result;
/// 2. the result's ``UsageReporting/usage``, looking through every `WrappingResult` on the
///    way (a fallback chain's `FallbackResult`; retry and hedging return the value itself);
/// 3. otherwise the reservation stays at its estimate, and the budget emits
///    `ResilienceEvent/Kind/budgetSettledAtEstimate(reason:)` saying why: never a silent
///    charge. So does an operation that throws (the provider may have spent the tokens).
///
/// `execute(_:usage:_:)` takes a typed reader for one call.
///
///     let budget = try TokenBudget(dimensions: [
///         .limiter("requests", requests), .limiter("inputTokens", input), .limiter("outputTokens", output),
///     ], clock: ContinuousClock())
///     let reservation = try await budget.reserve([1, prompt, maxOutput], options: .init(deadline: .after(.seconds(10))))
///     let reply = try await provider.chat(request)
///     try reservation.settle([1, reply.usage.input, reply.usage.output])
public final class TokenBudget<C: NanosecondClock>: RateLimitingPolicy {
    /// The dimensions, as the links of a chain.
    public let chain: RateLimitChain<C>

    /// Where the budget's events go (its chain's channel): denials, waiting refusals, and debt
    /// when a settlement charges an overrun.
    public var events: EventChannel { chain.events }
    /// How long a reservation may wait for its settlement; later, it counts at its estimate.
    public let reservationTimeout: Duration
    let timeout: Int64
    let estimate: @Sendable (ResilienceContext) -> Costs
    let usage: (@Sendable (any Sendable) -> Costs?)?

    /// The dimensions' names, in order.
    public var dimensions: [String] { chain.links.map(\.name) }

    /// Creates a budget.
    ///
    /// - Parameters:
    ///   - dimensions: One link per dimension (1 to 8, distinct names), on `clock`.
    ///   - reservationTimeout: How long a reservation may stay unsettled (10 minutes by default).
    ///   - estimate: What ``execute(_:_:)`` reserves for a context; by default its `cost` in every
    ///     dimension.
    ///   - usage: Reads the real usage from an operation's result, before ``UsageReporting`` is
    ///     looked for; `nil` (an answer of `nil`) to rely on ``UsageReporting`` alone.
    ///   - clock: The clock every dimension reads.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(
        dimensions: [RateLimitChain<C>.Link],
        reservationTimeout: Duration = .seconds(600),
        estimate: (@Sendable (ResilienceContext) -> Costs)? = nil,
        usage: (@Sendable (any Sendable) -> Costs?)? = nil,
        clock: C
    ) throws(BulwarkError) {
        self.usage = usage
        chain = try RateLimitChain(dimensions, clock: clock)
        timeout = try Validation.positiveNanoseconds(reservationTimeout, field: "reservationTimeout")
        self.reservationTimeout = reservationTimeout
        let count = dimensions.count
        self.estimate = estimate ?? { Costs(repeating: $0.cost, count: count) }
    }

    /// Reserves `estimate` (one cost per dimension) now if every dimension has it; never waits.
    ///
    /// - Returns: The reservation; when ``BudgetReservation/isReserved`` is false nothing was
    ///   taken, and its ``BudgetReservation/decision`` says which dimension refused and for how long.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when an estimate is negative or above
    ///   its dimension's limit (the field names the dimension).
    public func tryReserve(_ estimate: Costs, context: ResilienceContext = ResilienceContext(operationName: "budget")) throws(BulwarkError) -> BudgetReservation<C> {
        let now = chain.clock.nowNanoseconds
        let (decision, taken) = try chain.take(estimate, at: now, context: context)
        return BudgetReservation(budget: decision.isAllowed ? self : nil, decision: decision, taken: taken, context: context,
                                 expiresAt: now.addingSaturating(timeout))
    }

    /// Reserves `estimate`, waiting until every dimension has it.
    ///
    /// - Throws: `BulwarkError/rateLimited(retryAfter:)`, `BulwarkError/queueFull(limit:)`,
    ///   `BulwarkError/waitTimedOut`, `CancellationError`, or
    ///   `BulwarkError/invalidArgument(field:rule:)` as for ``tryReserve(_:context:)``.
    public func reserve(
        _ estimate: Costs,
        options: WaitOptions = WaitOptions(),
        context: ResilienceContext = ResilienceContext(operationName: "budget")
    ) async throws -> BudgetReservation<C> {
        let (decision, taken) = try await chain.admit(estimate, options: options, context: context)
        return BudgetReservation(budget: self, decision: decision, taken: taken, context: context,
                                 expiresAt: chain.clock.nowNanoseconds.addingSaturating(timeout))
    }

    /// Reserves `estimate(context)` (until the context's deadline), runs `operation`, and settles
    /// with the usage its result reports (see the type's documentation for where it is read);
    /// when none can be read, the reservation stays at its estimate and an event says so.
    ///
    /// - Throws: What ``reserve(_:options:context:)`` throws, what `operation` threw, or
    ///   `BulwarkError/invalidArgument(field:rule:)` when the usage read is invalid.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await execute(context, usage: { _ in nil }, operation)
    }

    /// Like ``execute(_:_:)``, reading the usage from the result with `usage` first (then as
    /// ``execute(_:_:)`` does when it answers `nil`).
    ///
    ///     let reply = try await budget.execute(context, usage: { [1, $0.value.promptTokens, $0.value.completionTokens] }) { _ in
    ///         try await chain.execute(context)
    ///     }
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        usage read: (Success) -> Costs?,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        let reservation = try await reserve(estimate(context), options: context.waitOptions, context: context)
        let result: Success
        do {
            result = try await operation(context)
        } catch {
            settledAtEstimate("the operation failed: \(error)", context: context)
            throw error
        }
        if let actual = read(result) ?? usage?(result) ?? Self.reportedUsage(of: result) {
            try reservation.settle(actual)
        } else {
            settledAtEstimate("the result (\(Success.self)) reports no usage", context: context)
        }
        return result
    }

    /// The usage `result` reports, looking through the wrappers around it (at most 16 deep).
    static func reportedUsage(of result: any Sendable) -> Costs? {
        var value = result
        for _ in 0 ..< 16 {
            if let reporting = value as? any UsageReporting { return reporting.usage }
            guard let wrapper = value as? any WrappingResult else { return nil }
            value = wrapper.wrappedResult
        }
        return nil
    }

    /// Says the reservation stays at its estimate; the reason is built only when observed.
    func settledAtEstimate(_ reason: @autoclosure () -> String, context: ResilienceContext) {
        chain.events.emit(.budgetSettledAtEstimate(reason: reason()), context: context)
    }

    /// Settles `taken` with `actual` at `now`: refunds each surplus, charges each overrun.
    func settle(_ taken: RateLimitChain<C>.Taken, actual: Costs, at now: Int64, context: ResilienceContext) -> BudgetReservation<C>.Settlement {
        var surplus = Costs(repeating: 0, count: taken.costs.count)
        var overrun = surplus
        for index in 0 ..< taken.costs.count {
            let difference = taken.costs[index] - actual[index]
            if difference > 0 { surplus[index] = difference } else { overrun[index] = -difference }
        }
        chain.settle(taken, refunding: surplus, charging: overrun, at: now, context: context)
        if chain.events.isObserved {
            for index in 0 ..< overrun.count where overrun[index] > 0 {
                chain.events.emit(.budgetDebt(dimension: chain.links[index].name, debt: overrun[index]), context: context)
            }
        }
        return .settled(refunded: surplus, charged: overrun)
    }
}

extension TokenBudget where C == ContinuousClock {
    /// Creates a budget on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        dimensions: [RateLimitChain<C>.Link],
        reservationTimeout: Duration = .seconds(600),
        estimate: (@Sendable (ResilienceContext) -> Costs)? = nil,
        usage: (@Sendable (any Sendable) -> Costs?)? = nil
    ) throws(BulwarkError) {
        try self.init(
            dimensions: dimensions, reservationTimeout: reservationTimeout, estimate: estimate, usage: usage, clock: ContinuousClock()
        )
    }
}
