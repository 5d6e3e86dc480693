import BulwarkChain
public import BulwarkCore
public import BulwarkEngine
public import BulwarkPartitioned

/// A quota on successful calls beside a limit on all calls, per key and per group with overrides,
/// as API gateways offer per user group: "at most 100 requests and 50 successful requests per 10
/// minutes". A failed call uses up the requests limit but not the success quota.
///
/// Checking the success quota and counting the success are one consistent step, not a
/// check-then-increment race: each call reserves one unit of both limits when it starts (all or
/// nothing, as a two-dimension ``TokenBudget``), and when it ends a failure gives its success unit
/// back exactly. So however many calls run at once, successes never exceed the quota. The price
/// is that a call in flight holds a success unit until it ends: with 50 left and 50 in flight, the
/// 51st waits or is refused even if some of those will fail.
///
///     let quota = try SuccessQuota<String, FixedWindow, ContinuousClock>(
///         requests: .init(limit: 100, window: .seconds(600)),
///         successes: .init(limit: 50, window: .seconds(600)),
///         groups: ["gold": (.init(limit: 1_000, window: .seconds(600)), .init(limit: 500, window: .seconds(600)))],
///         group: { user in goldUsers.contains(user) ? "gold" : nil },
///         clock: ContinuousClock())
///     let reply = try await quota.execute(ResilienceContext(operationName: "generate", partitionKey: user)) { _ in
///         try await model.generate(prompt)
///     }
public final class SuccessQuota<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock>: RateLimitingPolicy {
    /// The two dimensions, `requests` and `successes`.
    public let budget: TokenBudget<C>
    /// All calls, per key.
    public let requests: PartitionedRateLimiter<Key, Algorithm, C>
    /// Successful calls, per key.
    public let successes: PartitionedRateLimiter<Key, Algorithm, C>

    /// Creates a quota of `requests` and `successes` per key, groups overriding both.
    ///
    /// - Parameters:
    ///   - requests: The limit on all calls of a key.
    ///   - successes: The limit on successful calls of a key.
    ///   - groups: Overrides by group name: the group's (requests, successes) limits.
    ///   - group: The group of a key, or `nil` for the defaults.
    ///   - key: The key of a call; by default its context's `partitionKey`.
    ///   - maximumPartitions: The most keys kept at once, per limit.
    ///   - reservationTimeout: How long a call may run before its success unit counts as used.
    ///   - clock: The clock to read.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule
    ///   (prefixed `requests.` or `successes.`).
    public init(
        requests: Algorithm.Configuration,
        successes: Algorithm.Configuration,
        groups: [String: (requests: Algorithm.Configuration, successes: Algorithm.Configuration)] = [:],
        group: @escaping @Sendable (Key) -> String? = { _ in nil },
        key: @escaping @Sendable (ResilienceContext) -> Key? = { $0.partitionKey as? Key },
        maximumPartitions: Int = 100_000,
        reservationTimeout: Duration = .seconds(600),
        clock: C
    ) throws(BulwarkError) {
        func prefixed<T>(_ name: String, _ body: () throws(BulwarkError) -> T) throws(BulwarkError) -> T {
            do { return try body() } catch {
                guard case .invalidConfiguration(let field, let rule) = error else { throw error }
                throw .invalidConfiguration(field: "\(name).\(field)", rule: rule)
            }
        }
        self.requests = try prefixed("requests") { () throws(BulwarkError) in
            try PartitionedRateLimiter(configuration: requests, groups: groups.mapValues(\.requests), group: group,
                                       maximumPartitions: maximumPartitions, clock: clock)
        }
        self.successes = try prefixed("successes") { () throws(BulwarkError) in
            try PartitionedRateLimiter(configuration: successes, groups: groups.mapValues(\.successes), group: group,
                                       maximumPartitions: maximumPartitions, clock: clock)
        }
        budget = try TokenBudget(
            dimensions: [.partitioned("requests", self.requests, key: key), .partitioned("successes", self.successes, key: key)],
            reservationTimeout: reservationTimeout, clock: clock
        )
    }

    /// Starts a call now if its key has both a request and a success left; never waits.
    ///
    /// - Returns: The call's reservation; when it is not reserved, its decision says which limit
    ///   refused and for how long.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when the context has no key.
    public func tryBegin(_ context: ResilienceContext) throws(BulwarkError) -> BudgetReservation<C> {
        try budget.tryReserve([1, 1], context: context)
    }

    /// Starts a call, waiting (until the options' deadline) for a request and a success.
    public func begin(_ context: ResilienceContext, options: WaitOptions = WaitOptions()) async throws -> BudgetReservation<C> {
        try await budget.reserve([1, 1], options: options, context: context)
    }

    /// Ends a call begun with ``tryBegin(_:)`` or ``begin(_:options:)``: a failure gives its
    /// success back.
    @discardableResult
    public func finish(_ call: consuming BudgetReservation<C>, succeeded: Bool) -> BudgetReservation<C>.Settlement {
        (try? call.settle([1, succeeded ? 1 : 0])) ?? .notReserved
    }

    /// Runs `operation` as one call of the context's key (waiting until the context's deadline):
    /// it succeeded if it returned and `isSuccess` accepts its result.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        isSuccess: (Success) -> Bool,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        let call = try await begin(context, options: context.waitOptions)
        do {
            let result = try await operation(context)
            finish(call, succeeded: isSuccess(result))
            return result
        } catch {
            finish(call, succeeded: false)
            throw error
        }
    }

    /// Runs `operation` as one call of the context's key: it succeeded if it returned.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await execute(context, isSuccess: { _ in true }, operation)
    }
}
