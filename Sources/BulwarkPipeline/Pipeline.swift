public import BulwarkCore

/// Policies composed around one call, outermost first: the first policy listed sees the call
/// first and the result last.
///
/// The builder keeps every policy's concrete type (`ComposedPolicy<ComposedPolicy<A, B>, C>`), with no
/// existential on the path, so the compiler can specialise and inline the whole chain: a
/// pipeline costs the sum of its policies, nothing for the composition.
///
/// The recommended order, outermost first, and why:
/// 1. **fallback** — last, it answers whatever happened inside, refusals included;
/// 2. **overall timeout** — bounds the whole call, retries and backoffs included;
/// 3. **retry** — each attempt goes through everything below, so it re-asks the breaker and the
///    limiter every time and honours their retry-after;
/// 4. **circuit breaker** — refuses before any quota is spent when the dependency is down, and
///    counts each attempt's outcome;
/// 5. **rate limiter** — spends the quota only on calls that will be made;
/// 6. **bulkhead** — holds a slot only for the call itself, not for time spent queued above;
/// 7. **per-attempt timeout** — bounds one attempt, so a hung attempt is retried.
///
///     let pipeline = try Pipeline {
///         try Retry(configuration: RetryConfiguration(maximumAttempts: 3))
///         try CircuitBreaker(configuration: CircuitBreakerConfiguration())
///         try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))
///         try Timeout(.seconds(30))
///     }
///     let reply = try await pipeline.execute(context) { _ in try await provider.chat(request) }
public struct Pipeline<Stages: ResiliencePolicy>: OutcomePolicy {
    /// The composed policies.
    public let stages: Stages

    /// Composes the policies `build` lists, outermost first.
    @inlinable
    public init(@PipelineBuilder _ build: () throws -> Stages) rethrows {
        stages = try build()
    }

    /// Runs `operation` through every policy and reports how it ended, never throwing: a refusal
    /// by any policy is `ExecutionOutcome/rejected(_:)` and allocates nothing.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await stages.executeOutcome(context, operation)
    }

    /// Runs a throwing `operation` through every policy and reports how it ended, never throwing.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        catching operation: @Sendable (ResilienceContext) async throws -> Success
    ) async -> ExecutionOutcome<Success> {
        await stages.executeOutcome(context) { context in await .catching { try await operation(context) } }
    }

    /// Ready when every policy is.
    public func readiness(for context: ResilienceContext) -> Readiness {
        stages.readiness(for: context)
    }
}

/// Builds a ``Pipeline`` from policies listed outermost first, keeping their types.
///
/// A `RateLimitingPolicy` listed as it is becomes a ``RateLimitStage`` that refuses at once
/// (or waits the limiter's own maximum wait, a shaper's maximum delay); list
/// `limiter.waiting(upTo:)` to choose the wait.
@resultBuilder
public enum PipelineBuilder {
    /// Any policy, as it is.
    @inlinable
    public static func buildExpression<Policy: ResiliencePolicy>(_ policy: Policy) -> Policy {
        policy
    }

    /// A rate-limiting policy, wrapped so that it refuses at once instead of queueing the call
    /// (unless it has a maximum wait of its own, which it keeps: ``RateLimitStage/init(inPipeline:)``).
    @inlinable
    public static func buildExpression<Limiter: RateLimitingPolicy>(_ limiter: Limiter) -> RateLimitStage<Limiter> {
        RateLimitStage(inPipeline: limiter)
    }

    /// The first (outermost) policy.
    @inlinable
    public static func buildPartialBlock<First: ResiliencePolicy>(first: First) -> First {
        first
    }

    /// The policies so far, with `next` inside them.
    @inlinable
    public static func buildPartialBlock<Outer: ResiliencePolicy, Inner: ResiliencePolicy>(
        accumulated: Outer, next: Inner
    ) -> ComposedPolicy<Outer, Inner> {
        ComposedPolicy(outer: accumulated, inner: next)
    }
}

/// Two policies, one inside the other: what the ``PipelineBuilder`` nests.
public struct ComposedPolicy<Outer: ResiliencePolicy, Inner: ResiliencePolicy>: OutcomePolicy {
    /// The policy that sees the call first.
    public let outer: Outer
    /// The policy `outer` runs the call through.
    public let inner: Inner

    /// Nests `inner` inside `outer`.
    @inlinable
    public init(outer: Outer, inner: Inner) {
        self.outer = outer
        self.inner = inner
    }

    /// Runs `operation` through `inner`, itself run through `outer`, never throwing.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await outer.executeOutcome(context) { context in await inner.executeOutcome(context, operation) }
    }

    /// Ready when both are; the longer retry-after when neither is.
    public func readiness(for context: ResilienceContext) -> Readiness {
        outer.readiness(for: context).combined(with: inner.readiness(for: context))
    }
}
