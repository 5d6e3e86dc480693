public import BulwarkCore

/// One of two policies, chosen when the pipeline is built: what `if`, `if`/`else` and `switch`
/// inside `Pipeline { }` produce.
///
/// An `if` without `else` is `EitherStage<Policy, PassThrough>`: the policy when the condition
/// held, nothing otherwise. A `switch` of three cases nests: `EitherStage<A, EitherStage<B, C>>`.
///
///     let pipeline = try Pipeline {
///         if configuration.retries > 0 {
///             try Retry(configuration: RetryConfiguration(maximumAttempts: configuration.retries))
///         }
///         try Timeout(.seconds(30))
///     }
///
/// The choice is made once, at build time, and the branch keeps its concrete type: running the
/// pipeline costs one `switch` over two cases more than the chosen policy alone.
public enum EitherStage<First: ResiliencePolicy, Second: ResiliencePolicy>: OutcomePolicy {
    /// The first branch: the `if`'s, or the first of a `switch`.
    case first(First)
    /// The second branch: the `else`'s (`PassThrough` for an `if` without one), or the rest of a `switch`.
    case second(Second)

    /// Runs `operation` through the chosen policy, never throwing.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        switch self {
        case .first(let policy): await policy.executeOutcome(context, operation)
        case .second(let policy): await policy.executeOutcome(context, operation)
        }
    }

    /// The chosen policy's readiness.
    public func readiness(for context: ResilienceContext) -> Readiness {
        switch self {
        case .first(let policy): policy.readiness(for: context)
        case .second(let policy): policy.readiness(for: context)
        }
    }
}

extension PipelineBuilder {
    /// The policies of an `if` without `else`, or nothing when its condition did not hold.
    @inlinable
    public static func buildOptional<Policy: ResiliencePolicy>(_ policy: Policy?) -> EitherStage<Policy, PassThrough> {
        policy.map(EitherStage.first) ?? .second(PassThrough())
    }

    /// The policies of an `if`'s first branch, or of a `switch`'s first case.
    @inlinable
    public static func buildEither<First: ResiliencePolicy, Second: ResiliencePolicy>(first: First) -> EitherStage<First, Second> {
        .first(first)
    }

    /// The policies of an `else`, or of a `switch`'s later cases.
    @inlinable
    public static func buildEither<First: ResiliencePolicy, Second: ResiliencePolicy>(second: Second) -> EitherStage<First, Second> {
        .second(second)
    }
}
