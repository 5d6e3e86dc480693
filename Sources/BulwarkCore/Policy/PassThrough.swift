/// The policy that adds nothing: it runs the operation as it is. The identity of composition,
/// for an alternative or a configured pipeline with no policy of its own.
///
///     let alternative = FallbackAlternative("cache", policy: PassThrough()) { _ in cached }
public struct PassThrough: ResiliencePolicy {
    /// Creates the policy.
    public init() {}

    /// Runs `operation`.
    @inlinable
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await operation(context)
    }

    /// Runs `operation`.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await operation(context)
    }
}
