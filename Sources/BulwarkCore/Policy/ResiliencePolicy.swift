/// A policy that guards an asynchronous operation: the contract rate limiters, circuit breakers,
/// retries, timeouts, fallbacks and pipelines share.
///
/// A policy decides whether, when and how often the operation runs, and what the caller sees when
/// it does not. It receives the call's ``ResilienceContext`` and passes it, possibly updated, to
/// the operation. A policy that refuses a call throws a ``BulwarkError``; errors the operation
/// throws pass through unless the policy's purpose is to handle them.
///
///     let reply = try await limiter.execute(ResilienceContext(operation: "chat")) { context in
///         try await provider.chat(request)
///     }
///
/// The operation is not escaping, so guarding a call allocates nothing for the closure; it is
/// `@Sendable` so that policies which must run it in a child task (a timeout that cancels it) can.
public protocol ResiliencePolicy: Sendable {
    /// Runs `operation` under this policy.
    ///
    /// - Parameters:
    ///   - context: What the policy knows about the call.
    ///   - operation: The guarded work; it receives the context the policy hands on.
    /// - Returns: What `operation` returned.
    /// - Throws: A ``BulwarkError`` when the policy refuses the call, `CancellationError` when the
    ///   task is cancelled while the policy waits, or what `operation` threw.
    func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success
}
