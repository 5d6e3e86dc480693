public import BulwarkCore

/// The last-resort policy: when the operation fails with an error it handles, answers with a
/// value instead (a static value, a cached answer, a degraded reply).
///
/// Prefer `ResiliencePolicy/execute(_:fallback:_:)`: there the fallback's `Value` is the
/// call's result type, checked by the compiler, so a fallback of another type does not compile.
///
///     let fallback = Fallback<String>(handling: { $0 is BulwarkError }) { _, _ in "Sorry, try again soon." }
///     let reply = try await pipeline.execute(context, fallback: fallback) { _ in try await provider.chat(request) }
///
/// As a stage of a `Pipeline` it sits outermost, so it also catches the
/// refusals of the policies inside it (an open circuit, a rate limit, a timeout); there the
/// compiler cannot help, since a policy serves calls of any result type. Used on a call of another
/// type, it does not apply, and the call fails with `BulwarkError/invalidArgument(field:rule:)`
/// naming `Success` rather than pass a value of the wrong type off as an answer.
public struct Fallback<Value: Sendable>: OutcomePolicy {
    /// Where the policy's events go: each time the fallback value is used.
    public let events = EventChannel(defaultName: "Fallback")

    private let shouldHandle: @Sendable (any Error) -> Bool
    private let handler: @Sendable (any Error, ResilienceContext) async throws -> Value

    /// Creates a fallback that answers with `handler`'s value for every error `shouldHandle`
    /// accepts (by default every error but a cancellation).
    public init(
        handling shouldHandle: @escaping @Sendable (any Error) -> Bool = { !($0 is CancellationError) },
        _ handler: @escaping @Sendable (any Error, ResilienceContext) async throws -> Value
    ) {
        self.shouldHandle = shouldHandle
        self.handler = handler
    }

    /// Creates a fallback that answers with `value` for every error but a cancellation.
    public init(_ value: Value) {
        self.init { _, _ in value }
    }

    /// Runs `operation`; on a handled error, answers with the fallback's value.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let outcome = await operation(context)
        if case .success = outcome { return outcome }
        return await recover(outcome, context)
    }

    /// Answers a failed outcome with the fallback's value when the error is handled. Inside a
    /// `DynamicPipeline` (or a pipeline nested in one) the call's result is an `ErasedResult`: the
    /// value is answered erased, and the dynamic pipeline checks its type against the call's.
    @usableFromInline
    func recover<Success: Sendable>(_ outcome: ExecutionOutcome<Success>, _ context: ResilienceContext) async -> ExecutionOutcome<Success> {
        guard let error = outcome.error, shouldHandle(error), !Task.isCancelled else { return outcome }
        let erased = Success.self == ErasedResult.self
        guard Value.self == Success.self || erased else {
            return .rejected(.invalidArgument(field: "Success", rule: "must be the fallback's type \(Value.self) (got \(Success.self))"))
        }
        switch await answer(error, context) {
        // The types are equal, or the call's is the erased one: checked above.
        case .success(let value): return .success(erased ? ErasedResult(value) as! Success : value as! Success)
        case .rejected(let refusal): return .rejected(refusal)
        case .failure(let error): return .failure(error)
        }
    }

    /// The handler's answer to `error`.
    @usableFromInline
    func answer(_ error: any Error, _ context: ResilienceContext) async -> ExecutionOutcome<Value> {
        do {
            let value = try await handler(error, context)
            events.emit(.fallbackUsed(alternative: FallbackChain<Value>.lastResortName), context: context)
            return .success(value)
        } catch let error as BulwarkError {
            return .rejected(error)
        } catch {
            return .failure(error)
        }
    }
}

extension ResiliencePolicy {
    /// Runs `operation` through this policy and, on an error `fallback` handles (this policy's
    /// refusals included), answers with the fallback's value. The fallback's type is the call's
    /// result type: a fallback of another type is a compile-time error.
    ///
    ///     let reply = try await pipeline.execute(context, fallback: Fallback("Sorry, try again soon.")) { _ in
    ///         try await provider.chat(request)
    ///     }
    ///
    /// - Throws: An error the fallback does not handle, or what its handler threw.
    @inlinable
    public func execute<Value: Sendable>(
        _ context: ResilienceContext,
        fallback: Fallback<Value>,
        _ operation: @Sendable (ResilienceContext) async throws -> Value
    ) async throws -> Value {
        try await fallback.executeOutcome(context) { context in
            await self.executeOutcome(context) { context in await .catching { try await operation(context) } }
        }.get()
    }
}
