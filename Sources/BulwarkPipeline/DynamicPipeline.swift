public import BulwarkCore

/// Policies composed at run time, outermost first: a pipeline assembled from configuration.
///
/// It behaves as a ``Pipeline`` of the same policies, chained through their no-throw entry
/// points. Their types are only known at run time, so each is called through
/// `ResiliencePolicy/executeErased(_:_:)`: the call's result travels as an `ErasedResult` (wrapped
/// once on the way in, unwrapped once on the way out), so no stage runs generic code for an
/// unknown result type. What remains is the cost of calling an async function that cannot be
/// inlined, two per stage, which a ``Pipeline`` built with the builder does not pay:
/// docs/Performance.md has both figures.
///
///     var stages: [any ResiliencePolicy] = [try Retry(configuration: retry)]
///     if settings.breakerEnabled { stages.append(try CircuitBreaker(configuration: breaker)) }
///     let pipeline = DynamicPipeline(stages)
public struct DynamicPipeline: OutcomePolicy {
    /// The policies, outermost first.
    public let stages: [any ResiliencePolicy]

    /// Composes `stages`, outermost first. As in a ``Pipeline``, a `RateLimitingPolicy` given as
    /// it is becomes a ``RateLimitStage`` (``RateLimitStage/init(inPipeline:)``: refusing at once
    /// unless the limiter has a maximum wait of its own); give `limiter.waiting(upTo:)` to choose.
    public init(_ stages: [any ResiliencePolicy]) {
        self.stages = stages.map { stage in
            guard let limiter = stage as? any RateLimitingPolicy else { return stage }
            return Self.stage(limiter)
        }
    }

    private static func stage<Limiter: RateLimitingPolicy>(_ limiter: Limiter) -> any ResiliencePolicy {
        RateLimitStage(inPipeline: limiter)
    }

    /// Runs `operation` through every policy, never throwing.
    ///
    /// A fallback stage answering with a value of another type than `Success` is
    /// `ExecutionOutcome/rejected(_:)` with `BulwarkError/invalidArgument(field:rule:)` naming
    /// `Success`, as in a ``Pipeline``.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let outcome = await executeErased(context) { context in
            switch await operation(context) {
            case .success(let value): .success(ErasedResult(value))
            case .rejected(let refusal): .rejected(refusal)
            case .failure(let error): .failure(error)
            }
        }
        switch outcome {
        case .success(let erased):
            guard let value = erased.value as? Success else {
                return .rejected(.invalidArgument(field: "Success", rule: "must be the fallback's type \(type(of: erased.value)) (got \(Success.self))"))
            }
            return .success(value)
        case .rejected(let refusal): return .rejected(refusal)
        case .failure(let error): return .failure(error)
        }
    }

    /// Runs `operation` through every stage (a dynamic pipeline nested in another runs as one
    /// more stage).
    public func executeErased(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<ErasedResult>
    ) async -> ExecutionOutcome<ErasedResult> {
        await run(from: 0, context, operation)
    }

    /// Ready when every policy is.
    public func readiness(for context: ResilienceContext) -> Readiness {
        stages.reduce(.ready) { $0.combined(with: $1.readiness(for: context)) }
    }

    private func run(
        from index: Int,
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<ErasedResult>
    ) async -> ExecutionOutcome<ErasedResult> {
        guard index < stages.count else { return await operation(context) }
        return await stages[index].executeErased(context) { context in await run(from: index + 1, context, operation) }
    }
}
