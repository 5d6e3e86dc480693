/// A policy that guards an asynchronous operation: the contract rate limiters, circuit breakers,
/// retries, timeouts, fallbacks and pipelines share.
///
/// A policy decides whether, when and how often the operation runs, and what the caller sees when
/// it does not. It receives the call's ``ResilienceContext`` and passes it, possibly updated, to
/// the operation. A policy that refuses a call throws a ``BulwarkError``; errors the operation
/// throws pass through unless the policy's purpose is to handle them.
///
///     let reply = try await limiter.execute(ResilienceContext(operationName: "chat")) { context in
///         try await provider.chat(request)
///     }
///
/// The operation is not escaping, so guarding a call allocates nothing for the closure; it is
/// `@Sendable` so that policies which must run it in a child task (a timeout that cancels it) can.
///
/// Two more requirements have defaults that any policy may keep: ``executeOutcome(_:_:)``, the
/// no-throw form that reports a refusal as a value, and ``readiness(for:)``, which a fallback
/// chain asks before trying an alternative. The engine's limiters, the bulkhead, the lock-free
/// GCRA, the partitioned limiter, the circuit breaker, retry, hedging, timeout, fallback and
/// pipelines implement `executeOutcome` natively, so their refusals allocate nothing; chains,
/// budgets and quotas take the default, which catches a thrown (boxed) refusal.
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

    /// Runs `operation` under this policy and reports how it ended as a value, never throwing.
    ///
    /// A refusal is ``ExecutionOutcome/rejected(_:)``; the operation reports its own outcome. The
    /// default runs ``execute(_:_:)`` and catches what it throws.
    func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success>

    /// Whether a call with `context` would start now, asked without spending anything: not ready
    /// when a breaker is open or a limiter would deny at once. The default is always ready.
    func readiness(for context: ResilienceContext) -> Readiness

    /// Runs `operation`, whose result travels type-erased, under this policy, never throwing: the
    /// entry point a `DynamicPipeline` calls. Its default runs ``executeOutcome(_:_:)`` for the one
    /// result type ``ErasedResult``, so that each policy's witness is code specialised for it:
    /// through `any ResiliencePolicy`, `executeOutcome` for an unknown `Success` runs unspecialised.
    /// A policy that answers with values of its own (a fallback) wraps them in an ``ErasedResult``
    /// when its `Success` is ``ErasedResult``, as it may be inside any pipeline nested in a dynamic one.
    func executeErased(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<ErasedResult>
    ) async -> ExecutionOutcome<ErasedResult>
}

extension ResiliencePolicy {
    /// Runs ``execute(_:_:)`` and catches what it throws: a ``BulwarkError`` as a rejection.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        await ExecutionOutcome.catching {
            try await execute(context) { context in try await operation(context).get() }
        }
    }

    /// Always ready: a policy that cannot tell says nothing against trying.
    public func readiness(for context: ResilienceContext) -> Readiness {
        .ready
    }

    /// Runs ``executeOutcome(_:_:)`` with the erased result type (inlinable, so each conformer's
    /// witness is specialised for its own type).
    @inlinable @inline(__always)
    public func executeErased(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<ErasedResult>
    ) async -> ExecutionOutcome<ErasedResult> {
        await executeOutcome(context, operation)
    }
}

/// A result of any type, as it travels through the stages of a `DynamicPipeline` (see
/// ``ResiliencePolicy/executeErased(_:_:)``). A policy that reads results (a retry's or a
/// breaker's result classifier, a budget's usage) sees the value inside, never the wrapper:
/// ``unerased(_:)``, and ``WrappingResult``.
public struct ErasedResult: Sendable, WrappingResult {
    /// The value the operation (or a policy, a fallback) answered.
    public let value: any Sendable

    /// Wraps `value`.
    @inlinable
    public init(_ value: any Sendable) {
        self.value = value
    }

    /// The value inside.
    public var wrappedResult: any Sendable { value }

    /// `result` as a result classifier should see it: the value inside an ``ErasedResult``,
    /// otherwise `result` itself. In code specialised for a concrete type the check folds away.
    @inlinable
    public static func unerased<Result: Sendable>(_ result: Result) -> any Sendable {
        if let erased = result as? ErasedResult { return erased.value }
        return result
    }
}

/// A policy whose native entry point is the no-throw ``ResiliencePolicy/executeOutcome(_:_:)``:
/// its throwing `execute` is derived from it, catching what the operation throws once and
/// throwing the outcome's error.
///
/// Bulwark's policies conform to it. A conformer implements `executeOutcome` itself: left to the
/// protocol's default (which runs `execute`), the two would call each other.
public protocol OutcomePolicy: ResiliencePolicy {}

extension OutcomePolicy {
    /// Runs `operation` through ``ResiliencePolicy/executeOutcome(_:_:)`` and throws the error of
    /// an outcome that is not a success.
    ///
    /// - Throws: The policy's refusal (a ``BulwarkError``), or what `operation` threw.
    @inlinable
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await executeOutcome(context) { context in await .catching { try await operation(context) } }.get()
    }
}
