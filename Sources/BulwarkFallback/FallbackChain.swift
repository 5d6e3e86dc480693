public import BulwarkCore

/// One alternative of a fallback chain: a name, the pipeline that guards it, and the call it
/// makes (a model provider, a replica, a cache).
///
///     FallbackAlternative("openai", policy: openAIPipeline) { context in try await openAI.chat(request) }
public struct FallbackAlternative<Success: Sendable>: Sendable {
    /// The name results, errors and events report.
    public let name: String
    /// The policies guarding this alternative (its breaker, limiter, retry, timeout).
    public let policy: any ResiliencePolicy
    /// The call this alternative makes.
    public let operation: @Sendable (ResilienceContext) async throws -> Success

    /// The call through the policy, built where the policy's type is known, so that it runs
    /// specialised for it rather than through `any ResiliencePolicy`.
    @usableFromInline let run: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    @usableFromInline let readiness: @Sendable (ResilienceContext) -> Readiness

    /// Creates an alternative guarded by `policy`.
    @inlinable
    public init<Policy: ResiliencePolicy>(
        _ name: String,
        policy: Policy,
        operation: @escaping @Sendable (ResilienceContext) async throws -> Success
    ) {
        self.name = name
        self.policy = policy
        self.operation = operation
        run = { context in await policy.executeOutcome(context) { context in await .catching { try await operation(context) } } }
        readiness = { context in policy.readiness(for: context) }
    }

    /// Creates an alternative guarded by a policy known only at run time (from configuration).
    @_disfavoredOverload
    public init(
        _ name: String,
        policy: any ResiliencePolicy,
        operation: @escaping @Sendable (ResilienceContext) async throws -> Success
    ) {
        self.name = name
        self.policy = policy
        self.operation = operation
        run = { context in await policy.executeOutcome(context) { context in await .catching { try await operation(context) } } }
        readiness = { context in policy.readiness(for: context) }
    }

    /// Creates an alternative with no policy of its own (a cache, a static answer).
    public init(_ name: String, operation: @escaping @Sendable (ResilienceContext) async throws -> Success) {
        self.init(name, policy: PassThrough(), operation: operation)
    }
}

/// Where a fallback chain goes after an alternative's error.
public enum FallbackRoute: Sendable, Hashable {
    /// To the next alternative: this one is limited or unavailable.
    case next
    /// Nowhere: the error is the caller's answer (a bad request fails the same everywhere).
    case stop
}

/// What a fallback chain returns: the value and which alternative served it.
///
/// It is a `WrappingResult`: a `TokenBudget` around the chain reads the usage the served
/// reply reports, through this wrapper.
public struct FallbackResult<Success: Sendable>: Sendable, WrappingResult {
    /// The value.
    public let value: Success
    /// The name of the alternative that served it (``FallbackChain/lastResortName`` for the last
    /// resort).
    public let alternative: String
    /// Its position in the chain (the count of alternatives for the last resort).
    public let index: Int
    /// The alternatives skipped or failed before it, in order.
    public let passed: [FallbackFailure.Attempt]

    /// The value, which the operation returned.
    public var wrappedResult: any Sendable { value }

    @usableFromInline
    init(value: Success, alternative: String, index: Int, passed: [FallbackFailure.Attempt]) {
        self.value = value
        self.alternative = alternative
        self.index = index
        self.passed = passed
    }
}

/// The error of a fallback chain whose every alternative was skipped or failed: each one's
/// reason, in order.
///
/// Its ``retryAfter`` is the soonest any skipped or rate-limited alternative said it could serve,
/// so a gateway can answer 429 or 503 with a `Retry-After` that is true.
public struct FallbackFailure: Error, Sendable, CustomStringConvertible, RetryAfterProviding {
    /// One alternative that did not serve.
    public struct Attempt: Sendable, CustomStringConvertible {
        /// The alternative's name.
        public let alternative: String
        /// Why it did not serve.
        public let reason: Reason

        @usableFromInline
        init(alternative: String, reason: Reason) {
            self.alternative = alternative
            self.reason = reason
        }

        /// `"<name>: <reason>"`.
        public var description: String {
            switch reason {
            case .skipped(let retryAfter?): "\(alternative): skipped, ready in \(retryAfter)"
            case .skipped(nil): "\(alternative): skipped"
            case .failed(let error): "\(alternative): \(error)"
            }
        }
    }

    /// Why an alternative did not serve.
    public enum Reason: Sendable {
        /// It was not ready (breaker open, limiter would deny) and was not tried; it may be ready
        /// after the retry-after, when known.
        case skipped(retryAfter: Duration?)
        /// It was tried and failed with this error.
        case failed(any Error)
    }

    /// Every alternative, in the chain's order.
    public let attempts: [Attempt]

    @usableFromInline
    init(attempts: [Attempt]) {
        self.attempts = attempts
    }

    /// The soonest retry-after any alternative gave (skipped, or failed with a retry-after).
    public var retryAfter: Duration? {
        attempts.compactMap { attempt -> Duration? in
            switch attempt.reason {
            case .skipped(let retryAfter): retryAfter
            case .failed(let error): (error as? any RetryAfterProviding)?.retryAfter
            }
        }.min()
    }

    /// One line listing every alternative's failure.
    public var description: String {
        "every alternative failed: " + attempts.map(\.description).joined(separator: "; ")
    }
}

/// A chain of ordered alternatives (model providers, replicas, a cache): the first that can
/// serve does, each through its own pipeline.
///
/// For each alternative in order:
/// 1. it is asked, without spending anything, whether it would start now
///    (`ResiliencePolicy/readiness(for:)`): one whose breaker is open or whose limiter would
///    deny at once is **skipped** and never called;
/// 2. otherwise it is called through its pipeline; a success is the answer, with the
///    alternative's name;
/// 3. an error is **routed**: ``FallbackRoute/next`` (rate limited, unavailable, timed out: the
///    default for every error but a cancellation and an invalid argument or configuration) moves
///    on;
///    ``FallbackRoute/stop`` (a bad request, which fails the same everywhere) throws that error
///    at once.
///
/// When every alternative was skipped or failed, the last resort (a static value, a cache
/// lookup) answers if there is one; otherwise one ``FallbackFailure`` lists every alternative's
/// reason. Every step is an event.
///
///     let chain = try FallbackChain([
///         FallbackAlternative("openai", policy: openAI) { _ in try await openAIClient.chat(request) },
///         FallbackAlternative("anthropic", policy: anthropic) { _ in try await anthropicClient.chat(request) },
///     ], lastResort: { _, _ in .cannedApology })
///     let result = try await chain.execute(ResilienceContext(operationName: "chat"))
///     print("served by \(result.alternative)")
public struct FallbackChain<Success: Sendable>: Sendable {
    /// The name the last resort is reported under.
    public static var lastResortName: String { "last-resort" }

    /// The alternatives, in the order they are tried.
    public let alternatives: [FallbackAlternative<Success>]
    /// Where to go after an alternative's error.
    public let route: @Sendable (any Error) -> FallbackRoute
    /// Where the chain's events go: alternatives skipped, failed and used.
    public let events = EventChannel(defaultName: "Fallback")

    @usableFromInline let lastResort: (@Sendable (FallbackFailure, ResilienceContext) async throws -> Success)?

    /// Creates a chain.
    ///
    /// - Parameters:
    ///   - alternatives: The alternatives, in order.
    ///   - route: Where to go after an error; by default a cancellation and an invalid argument
    ///     or configuration stop, everything else moves on.
    ///   - lastResort: What answers when every alternative failed, given their failures.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` with no alternative and no
    ///   last resort, two alternatives of one name, or one named ``lastResortName``.
    public init(
        _ alternatives: [FallbackAlternative<Success>],
        route: @escaping @Sendable (any Error) -> FallbackRoute = FallbackChain.defaultRoute,
        lastResort: (@Sendable (FallbackFailure, ResilienceContext) async throws -> Success)? = nil
    ) throws(BulwarkError) {
        guard !alternatives.isEmpty || lastResort != nil else {
            throw .invalidConfiguration(field: "alternatives", rule: "must hold at least one alternative or a last resort")
        }
        var names: Set = [Self.lastResortName]
        for alternative in alternatives where !names.insert(alternative.name).inserted {
            if alternative.name == Self.lastResortName {
                throw .invalidConfiguration(field: "alternatives", rule: "must not use the name \"\(Self.lastResortName)\" (it names the last resort)")
            }
            throw .invalidConfiguration(field: "alternatives", rule: "must have distinct names (\"\(alternative.name)\" is used twice)")
        }
        self.alternatives = alternatives
        self.route = route
        self.lastResort = lastResort
    }

    /// Stops on a cancellation or an invalid argument or configuration; moves on otherwise.
    public static func defaultRoute(_ error: any Error) -> FallbackRoute {
        if error is CancellationError { return .stop }
        switch error as? BulwarkError {
        case .invalidArgument, .invalidConfiguration: return .stop
        default: return .next
        }
    }

    /// Tries the alternatives in order and returns the first success, with who served it.
    ///
    /// - Throws: The error of an alternative routed to ``FallbackRoute/stop``,
    ///   ``FallbackFailure`` when every alternative failed and there is no last resort (or what
    ///   the last resort threw), or `CancellationError`.
    @inlinable
    public func execute(_ context: ResilienceContext) async throws -> FallbackResult<Success> {
        var passed: [FallbackFailure.Attempt] = []
        for index in alternatives.indices {
            try Task.checkCancellation()
            if case .notReady(let retryAfter) = alternatives[index].readiness(context) {
                let name = alternatives[index].name
                events.emit(.fallbackSkipped(alternative: name, retryAfter: retryAfter), context: context)
                passed.append(.init(alternative: name, reason: .skipped(retryAfter: retryAfter)))
                continue
            }
            let outcome = await alternatives[index].run(context)
            let name = alternatives[index].name
            if case .success(let value) = outcome {
                // "Used" means an alternative served in place of the first: not the primary's success.
                if index > 0 { events.emit(.fallbackUsed(alternative: name), context: context) }
                return FallbackResult(value: value, alternative: name, index: index, passed: passed)
            }
            let error = outcome.error ?? CancellationError()
            let stop = route(error) == .stop
            if events.isObserved {
                events.emit(.fallbackFailed(alternative: name, stopped: stop, error: String(describing: error)), context: context)
            }
            if stop { throw error }
            passed.append(.init(alternative: name, reason: .failed(error)))
        }
        let failure = FallbackFailure(attempts: passed)
        guard let lastResort else { throw failure }
        let value = try await lastResort(failure, context)
        events.emit(.fallbackUsed(alternative: Self.lastResortName), context: context)
        return FallbackResult(value: value, alternative: Self.lastResortName, index: alternatives.count, passed: passed)
    }

    /// Not ready when no alternative is ready and there is no last resort, with the soonest
    /// retry-after any alternative gave (`nil` when none gave one), as ``FallbackFailure`` counts
    /// it.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard lastResort == nil else { return .ready }
        var soonest: Duration?
        for alternative in alternatives {
            guard case .notReady(let retryAfter) = alternative.readiness(context) else { return .ready }
            if let retryAfter { soonest = min(soonest ?? retryAfter, retryAfter) }
        }
        return alternatives.isEmpty ? .ready : .notReady(retryAfter: soonest)
    }
}
