public import BulwarkCore

/// Named pipelines an application looks up by key (`"openai.chat"`, `"search"`), replaceable at
/// run time.
///
/// Replacing a pipeline affects only calls that look it up afterwards: a call in flight keeps the
/// pipeline it started with, so nothing in flight is dropped or sees its policies change under
/// it. Looking up is a lock and a dictionary read.
///
///     let registry = PipelineRegistry()
///     registry.register("openai.chat", Pipeline { retry; breaker; limiter })
///     let reply = try await registry.execute("openai.chat", context) { _ in try await call() }
///     registry.register("openai.chat", DynamicPipeline(newStages))   // from new configuration
public final class PipelineRegistry: Sendable {
    private let pipelines = LockedValue<[String: any ResiliencePolicy]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Registers `pipeline` under `name`, replacing the one registered before (calls in flight
    /// keep the old one).
    public func register(_ name: String, _ pipeline: any ResiliencePolicy) {
        pipelines.withLock { $0[name] = pipeline }
    }

    /// Removes the pipeline of `name`; returns it.
    @discardableResult
    public func remove(_ name: String) -> (any ResiliencePolicy)? {
        pipelines.withLock { $0.removeValue(forKey: name) }
    }

    /// The pipeline registered under `name`.
    public func pipeline(_ name: String) -> (any ResiliencePolicy)? {
        pipelines.withLock { $0[name] }
    }

    /// The names registered, sorted.
    public var names: [String] {
        pipelines.withLock { $0.keys.sorted() }
    }

    /// Runs `operation` through the pipeline of `name`.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` naming `name` when none is
    ///   registered under it, or what the pipeline throws.
    public func execute<Success: Sendable>(
        _ name: String,
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        guard let pipeline = pipeline(name) else { throw missing(name) }
        return try await pipeline.execute(context, operation)
    }

    /// Runs `operation` through the pipeline of `name`, never throwing.
    public func executeOutcome<Success: Sendable>(
        _ name: String,
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        guard let pipeline = pipeline(name) else { return .rejected(missing(name)) }
        return await pipeline.executeOutcome(context, operation)
    }

    private func missing(_ name: String) -> BulwarkError {
        .invalidArgument(field: "name", rule: "must name a registered pipeline (\"\(name)\" is not registered)")
    }
}
