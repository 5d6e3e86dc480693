public import BulwarkCore

/// How a retry policy retries.
///
/// The defaults make 3 attempts in all (the first call and 2 retries), 200 ms then 400 ms
/// apart, never waiting more than 30 s, retrying every error except a cancellation and a
/// configuration or argument error.
///
///     var configuration = RetryConfiguration(maximumAttempts: 4)
///     configuration.backoff = .decorrelatedJitter(base: .milliseconds(100))
///     configuration.budget = try RetryBudget(ratio: 0.2)
public struct RetryConfiguration: Sendable {
    /// Attempts in all, the first call included (at least 1).
    public var maximumAttempts: Int

    /// The wait before each retry.
    public var backoff: Backoff = .exponential(initial: .milliseconds(200), multiplier: 2)

    /// The longest wait before a retry: computed delays are capped to it, and an error whose
    /// retry-after is longer is not retried at all (the caller learns at once rather than after
    /// a wait it did not ask for).
    public var maximumDelay: Duration = .seconds(30)

    /// Whether an error is worth retrying. The default retries everything except
    /// `CancellationError` and `BulwarkError/invalidArgument(field:rule:)` /
    /// `BulwarkError/invalidConfiguration(field:rule:)`. A cancellation is never retried,
    /// whatever this says.
    public var shouldRetry: @Sendable (any Error) -> Bool = RetryConfiguration.defaultShouldRetry

    /// Whether a returned value is worth retrying (an HTTP 503 response value); `nil` (the
    /// default) accepts every value. When the attempts run out, the last value is returned.
    public var shouldRetryResult: (@Sendable (any Sendable) -> Bool)?

    /// The budget retries draw from, shared with other policies calling the same dependency;
    /// `nil` (the default) for no budget.
    public var budget: RetryBudget?

    /// Where jittered delays draw from.
    public var random: RandomSource = .system

    /// Creates a configuration making `maximumAttempts` attempts in all.
    public init(maximumAttempts: Int = 3) {
        self.maximumAttempts = maximumAttempts
    }

    /// Everything but a cancellation and a configuration or argument error.
    public static let defaultShouldRetry: @Sendable (any Error) -> Bool = { error in
        if error is CancellationError { return false }
        switch error as? BulwarkError {
        case .invalidArgument, .invalidConfiguration: return false
        default: return true
        }
    }
}

/// The retry policy: runs the operation again when it fails, after a backoff, a bounded number
/// of times.
///
/// - The operation receives the context with `ResilienceContext/attempt` counting from 1.
/// - An error carrying a retry-after (`RetryAfterProviding`: a rate limit, an open circuit, an
///   upstream 429's `Retry-After`) is retried after exactly that long instead of the backoff —
///   or not at all when that is longer than ``RetryConfiguration/maximumDelay``.
/// - It never retries after the task is cancelled (a cancelled backoff wait ends the call with
///   `CancellationError`), nor when the retry would start after the context's deadline, nor when
///   the retry budget refuses. Each refusal is an event.
/// - When it stops, the caller gets the last attempt's outcome.
///
/// On the success path it adds a few branches and, with a budget, one deposit (a clock read and
/// a lock); it allocates nothing.
///
///     let retry = try Retry(configuration: RetryConfiguration(maximumAttempts: 3))
///     let reply = try await retry.execute(ResilienceContext(operationName: "chat")) { context in
///         try await provider.chat(request, attempt: context.attempt)
///     }
public struct Retry<C: NanosecondClock>: OutcomePolicy {
    /// The configuration the policy was created with.
    public let configuration: RetryConfiguration
    /// The clock backoffs sleep on and deadlines are read on.
    public let clock: C
    /// Where the policy's events go: retries scheduled and retries refused.
    public let events = EventChannel(defaultName: "Retry")

    @usableFromInline let maximumDelay: Int64

    /// Creates a retry policy.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(configuration: RetryConfiguration, clock: C = ContinuousClock()) throws(BulwarkError) {
        guard configuration.maximumAttempts >= 1, configuration.maximumAttempts <= 1_000 else {
            throw .invalidConfiguration(field: "maximumAttempts", rule: "must be in 1 ... 1000 (got \(configuration.maximumAttempts))")
        }
        guard configuration.maximumDelay >= .zero else {
            throw .invalidConfiguration(field: "maximumDelay", rule: "must be at least 0 (got \(configuration.maximumDelay))")
        }
        try configuration.backoff.validate()
        self.configuration = configuration
        self.clock = clock
        self.maximumDelay = configuration.maximumDelay.saturatingNanoseconds
    }

    /// Runs `operation`, retrying as configured, and reports the last attempt's outcome.
    @inlinable @inline(__always)
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        configuration.budget?.recordCall()
        var context = context
        // A relative deadline is fixed once, here, so every attempt shares it.
        if let deadline = context.deadline {
            context.deadline = .at(nanoseconds: deadline.nanoseconds(resolvedAt: clock.nowNanoseconds))
        }
        context.attempt = 1
        let first = await operation(context)
        if case .success = first, configuration.shouldRetryResult == nil { return first }
        return await retrying(after: first, context, operation)
    }

    /// The attempts after the first, while the outcome asks for them.
    @inlinable
    func retrying<Success: Sendable>(
        after first: ExecutionOutcome<Success>,
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        var context = context
        let deadline = context.deadline.map { $0.nanoseconds(resolvedAt: 0) }
        var outcome = first
        var attempt = 1
        var previousDelay: Int64 = 0
        while attempt < configuration.maximumAttempts, wantsRetry(outcome), !Task.isCancelled {
            let delay: Int64
            if let retryAfter = (outcome.error as? any RetryAfterProviding)?.retryAfter {
                delay = max(0, retryAfter.saturatingNanoseconds)
                guard delay <= maximumDelay else { return refuse(outcome, attempt + 1, .retryAfterTooLong, context) }
            } else {
                delay = configuration.backoff.nanoseconds(
                    beforeRetry: attempt, previous: previousDelay, maximum: maximumDelay, random: configuration.random
                )
            }
            let wakeAt = clock.nowNanoseconds.addingSaturating(delay)
            if let deadline, wakeAt > deadline { return refuse(outcome, attempt + 1, .deadline, context) }
            if let budget = configuration.budget, !budget.tryWithdraw() {
                return refuse(outcome, attempt + 1, .budgetExhausted, context)
            }
            events.emit(.retryScheduled(attempt: attempt + 1, delay: .nanoseconds(delay)), context: context)
            do {
                try await clock.sleep(untilNanoseconds: wakeAt)
            } catch {
                return .failure(CancellationError())
            }
            previousDelay = delay
            attempt += 1
            context.attempt = attempt
            outcome = await operation(context)
        }
        return outcome
    }

    /// Whether the outcome is one to retry (before counting attempts, deadline and budget).
    @usableFromInline
    func wantsRetry<Success>(_ outcome: ExecutionOutcome<Success>) -> Bool {
        switch outcome {
        case .success(let value):
            return configuration.shouldRetryResult?(ErasedResult.unerased(value)) ?? false
        case .rejected(let error):
            return configuration.shouldRetry(error)
        case .failure(let error):
            return !(error is CancellationError) && configuration.shouldRetry(error)
        }
    }

    @usableFromInline
    func refuse<Success>(
        _ outcome: ExecutionOutcome<Success>, _ attempt: Int, _ reason: RetryRefusal, _ context: ResilienceContext
    ) -> ExecutionOutcome<Success> {
        events.emit(.retryRefused(attempt: attempt, reason: reason), context: context)
        return outcome
    }
}

