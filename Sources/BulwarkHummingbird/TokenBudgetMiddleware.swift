public import BulwarkBudget
public import BulwarkChain
public import BulwarkHTTP
public import Hummingbird

/// Reserves a request's estimated costs in every dimension of a `TokenBudget` (requests, input
/// tokens, output tokens) before the handler runs, and settles them with the real usage once the
/// response body has been written: the reserve-then-settle an LLM route needs.
///
///     router.add(middleware: try TokenBudgetMiddleware(
///         budget: budget, key: .bearerToken,
///         policies: [rpm, inputTPM, outputTPM],
///         estimate: { request, _ in [1, promptTokens(request), 1_024] },
///         usage: { head in usageFields(head) }
///     ))
///
/// - A refused reservation is answered 429 with `Retry-After` and the fields of the dimension
///   that refused (its policy, its figures); nothing was taken.
/// - An admitted one passes the request on; the response carries the fields of the dimension
///   with the fewest permits left.
/// - When the body has been written (or the client went away, or the handler threw), the
///   reservation is settled with `usage(head)`, read from the response head (for example
///   fields the handler set from the provider's `usage`); when it answers `nil`, the reservation
///   is kept at its estimate, which is what a dropped reservation does too.
/// - The key partitions every partitioned dimension (the context's `partitionKey`).
public struct TokenBudgetMiddleware<Context: RequestContext, C: NanosecondClock>: RouterMiddleware {
    let budget: TokenBudget<C>
    let key: RequestKey
    let headers: [RateLimitHeaderWriter]
    let estimate: @Sendable (Request, Context) -> Costs
    let usage: @Sendable (Response) -> Costs?
    let missingKey: MissingKeyAction
    let errorBody: HTTPErrorBodyStyle

    /// A middleware over `budget`.
    ///
    /// - Parameters:
    ///   - budget: The dimensions every request reserves in.
    ///   - key: How a request's key is read: the partitioned dimensions' key.
    ///   - policies: One per dimension, in the budget's order, for the header fields.
    ///   - families: The header families sent (all by default).
    ///   - missingKey: What to do with a request that has no key.
    ///   - errorBody: The JSON shape of a refusal.
    ///   - estimate: What a request reserves, one figure per dimension.
    ///   - usage: What the request really cost, read from the response once its body is written;
    ///     `nil` keeps the estimate.
    /// - Throws: `BulwarkError.invalidConfiguration` when `policies` does not hold one policy per
    ///   dimension.
    public init(
        budget: TokenBudget<C>,
        key: RequestKey,
        policies: [RateLimitPolicy],
        families: RateLimitHeaderFamilies = .all,
        missingKey: MissingKeyAction = .reject,
        errorBody: HTTPErrorBodyStyle = .bulwark,
        estimate: @escaping @Sendable (Request, Context) -> Costs,
        usage: @escaping @Sendable (Response) -> Costs? = { _ in nil }
    ) throws(BulwarkError) {
        guard policies.count == budget.dimensions.count else {
            throw .invalidConfiguration(
                field: "policies", rule: "must hold one policy per dimension, \(budget.dimensions.count) (got \(policies.count))"
            )
        }
        self.budget = budget
        self.key = key
        self.headers = policies.map { RateLimitHeaderWriter(policy: $0, families: families) }
        self.estimate = estimate
        self.usage = usage
        self.missingKey = missingKey
        self.errorBody = errorBody
    }

    /// Reserves, runs the handler, and settles once the body is written.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key = key.key(for: request, context: context) else {
            return missingKey == .allow ? try await next(request, context) : .missingKey
        }
        let call = ResilienceContext(operationName: "\(request.method.rawValue) \(context.endpointPath ?? request.uri.path)", partitionKey: key)
        let reservation: BudgetReservation<C>
        do {
            reservation = try budget.tryReserve(estimate(request, context), context: call)
        } catch {
            return Response(HTTPErrorMapping.response(for: error, style: errorBody))
        }
        let decision = reservation.decision
        guard reservation.isReserved else {
            return Response(refusal: decision.decision, writer: headers[decision.linkIndex], style: errorBody)
        }
        // Should the handler throw, the holder's last reference goes and settles at the estimate.
        let holder = PermitHolder(reservation, abandoned: nil) { (reservation: consuming BudgetReservation<C>, actual: Costs?) in
            if let actual { _ = try? reservation.settle(actual) }
        }
        var response = try await next(request, context)
        headers[decision.linkIndex].write(decision.decision, into: &response.headers)
        let head = response
        response.finishingBody { [usage] _ in holder.release(usage(head)) }
        return response
    }
}
