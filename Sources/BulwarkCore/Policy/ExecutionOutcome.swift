/// How a guarded call ended, as a value: what the no-throw entry points return.
///
/// A policy that refuses a call (an open circuit, a rate limit, a full bulkhead) reports
/// ``rejected(_:)`` with the ``BulwarkError`` itself, unboxed: nothing is allocated, which is why
/// callers that expect rejections under overload use ``ResiliencePolicy/executeOutcome(_:_:)``
/// rather than `execute` (throwing boxes the error). What the operation threw is ``failure(_:)``.
///
///     switch await pipeline.executeOutcome(context, { _ in await .catching { try await call() } }) {
///     case .success(let reply): return reply
///     case .rejected(let refusal): return .tooManyRequests(retryAfter: refusal.retryAfter)
///     case .failure(let error): throw error
///     }
public enum ExecutionOutcome<Success: Sendable>: Sendable {
    /// The operation returned a value.
    case success(Success)
    /// A policy refused the call (or an inner policy did, or the operation threw a
    /// ``BulwarkError``).
    case rejected(BulwarkError)
    /// The operation threw.
    case failure(any Error)

    /// Runs `body`, catching what it throws: a ``BulwarkError`` as ``rejected(_:)``, anything else
    /// as ``failure(_:)``.
    @inlinable
    public static func catching(_ body: () async throws -> Success) async -> ExecutionOutcome<Success> {
        do {
            return .success(try await body())
        } catch let error as BulwarkError {
            return .rejected(error)
        } catch {
            return .failure(error)
        }
    }

    /// The value, or the error thrown.
    @inlinable
    public func get() throws -> Success {
        switch self {
        case .success(let value): return value
        case .rejected(let error): throw error
        case .failure(let error): throw error
        }
    }

    /// The error, for an outcome that is not a success.
    public var error: (any Error)? {
        switch self {
        case .success: nil
        case .rejected(let error): error
        case .failure(let error): error
        }
    }

    /// Whether the operation returned a value.
    public var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}

/// Whether a policy would let a call start now, asked without spending anything.
///
/// A fallback chain asks each alternative before trying it and skips one that is not ready: its
/// breaker is open, or its limiter would deny at once.
public enum Readiness: Sendable, Hashable {
    /// The call would start now (as far as the policy can tell without trying).
    case ready
    /// The call would be refused now; it may start after `retryAfter`, when the policy can tell.
    case notReady(retryAfter: Duration?)

    /// Whether the call would start now.
    public var isReady: Bool { self == .ready }

    /// Not ready if either is, with the longer retry-after.
    public func combined(with other: Readiness) -> Readiness {
        switch (self, other) {
        case (.ready, _): other
        case (_, .ready): self
        case (.notReady(let a), .notReady(let b)):
            .notReady(retryAfter: a.flatMap { a in b.map { max(a, $0) } })
        }
    }
}

/// A result that wraps the value an operation returned (a fallback chain's result naming who
/// served), so that a policy reading the value (a token budget looking for the usage an LLM reply
/// reports) can see through it.
///
/// Conform your own wrappers so that usage is never lost on the way out.
///
///     struct Served<Reply: Sendable>: WrappingResult {
///         var reply: Reply
///         var wrappedResult: any Sendable { reply }
///     }
public protocol WrappingResult {
    /// The value the operation returned.
    var wrappedResult: any Sendable { get }
}
