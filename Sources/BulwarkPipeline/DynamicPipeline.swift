public import BulwarkCore

/// Policies composed at run time, outermost first: a pipeline assembled from configuration.
///
/// It behaves as a ``Pipeline`` of the same policies (chained through their no-throw entry
/// points), but their generic code runs unspecialised, since their types are only known at run
/// time: about 340 ns per policy measured, against a few for the builder's.
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
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await runOutcome(from: 0, context, operation)
    }

    /// Ready when every policy is.
    public func readiness(for context: ResilienceContext) -> Readiness {
        stages.reduce(.ready) { $0.combined(with: $1.readiness(for: context)) }
    }

    private func runOutcome<Success: Sendable>(
        from index: Int,
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        guard index < stages.count else { return await operation(context) }
        return await stages[index].executeOutcome(context) { context in await runOutcome(from: index + 1, context, operation) }
    }
}
