public import BulwarkCore

/// How a hedging policy hedges.
///
///     var configuration = HedgingConfiguration(maximumHedges: 2, delay: .milliseconds(800))
///     configuration.budget = sharedBudget
public struct HedgingConfiguration: Sendable {
    /// Extra attempts beyond the first (1 ... 10).
    public var maximumHedges: Int
    /// How long to wait for the most recent attempt before starting another; 0 starts every
    /// attempt at once.
    public var delay: Duration
    /// Whether a failed attempt's error means another attempt may succeed (it then starts at once
    /// rather than after the delay); otherwise that failure is the answer. The default is the
    /// retry policy's.
    public var shouldHedge: @Sendable (any Error) -> Bool = RetryConfiguration.defaultShouldRetry
    /// The budget each hedge draws from, shared with the retry policies of the same dependency;
    /// `nil` (the default) for none.
    public var budget: RetryBudget?

    /// Creates a configuration.
    public init(maximumHedges: Int = 1, delay: Duration = .seconds(2)) {
        self.maximumHedges = maximumHedges
        self.delay = delay
    }
}

/// The hedging policy: when the first attempt has not answered after a delay, starts another
/// beside it, takes the first success and cancels the rest.
///
/// It trades extra load for tail latency, so each hedge is drawn from the retry budget when one
/// is configured: under an outage, hedges stop with the retries. A failed attempt whose error
/// ``HedgingConfiguration/shouldHedge`` accepts starts the next attempt at once, even while
/// others still run. No hedge starts after the context's deadline (a relative one is fixed when
/// the call enters; the first attempt always starts). The first
/// success, or the first failure that should not be hedged, is the answer; the other attempts
/// are cancelled and awaited before it is returned (structured: nothing outlives the call). When
/// every attempt fails, the answer is the first attempt's failure, as in Polly.
///
/// Each attempt runs in a child task and sees `ResilienceContext/attempt` counting from 1.
///
///     let hedging = try Hedging(configuration: HedgingConfiguration(maximumHedges: 1, delay: .seconds(1)))
///     let reply = try await hedging.execute(context) { _ in try await provider.chat(request) }
public struct Hedging<C: NanosecondClock>: OutcomePolicy {
    /// The configuration the policy was created with.
    public let configuration: HedgingConfiguration
    /// The clock the delays run on.
    public let clock: C
    /// Where the policy's events go: hedges started, hedges refused by the budget.
    public let events = EventChannel(defaultName: "Hedging")

    /// Creates a hedging policy.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(configuration: HedgingConfiguration, clock: C = ContinuousClock()) throws(BulwarkError) {
        guard (1 ... 10).contains(configuration.maximumHedges) else {
            throw .invalidConfiguration(field: "maximumHedges", rule: "must be in 1 ... 10 (got \(configuration.maximumHedges))")
        }
        guard configuration.delay >= .zero else {
            throw .invalidConfiguration(field: "delay", rule: "must be at least 0 (got \(configuration.delay))")
        }
        self.configuration = configuration
        self.clock = clock
    }

    private enum Event<Success: Sendable>: Sendable {
        case timer(generation: Int)
        case finished(attempt: Int, ExecutionOutcome<Success>)
    }

    /// Runs `operation`, hedging as configured, and reports the answer.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        configuration.budget?.recordCall()
        var context = context
        // A relative deadline is fixed once, here: every attempt shares it, and none starts after it.
        let deadline = context.deadline?.nanoseconds(resolvedAt: clock.nowNanoseconds)
        if let deadline { context.deadline = .at(nanoseconds: deadline) }
        let delay = configuration.delay.saturatingNanoseconds
        let total = configuration.maximumHedges + 1
        let clock = clock
        let attemptContext = context
        return await withoutActuallyEscaping(operation) { operation in
            await withTaskGroup(of: Event<Success>.self) { group in
                var started = 0
                var timerGeneration = 0
                func start() {
                    started += 1
                    var attemptContext = attemptContext
                    attemptContext.attempt = started
                    let attempt = started
                    group.addTask { .finished(attempt: attempt, await operation(attemptContext)) }
                    guard started < total else { return }
                    timerGeneration += 1
                    let generation = timerGeneration
                    let wakeAt = clock.nowNanoseconds.addingSaturating(delay)
                    group.addTask {
                        try? await clock.sleep(untilNanoseconds: wakeAt)
                        return .timer(generation: generation)
                    }
                }
                /// Starts another attempt if any is left and the budget allows it.
                func hedge() -> Bool {
                    guard started < total, !Task.isCancelled else { return false }
                    if let deadline, clock.nowNanoseconds > deadline {
                        events.emit(.retryRefused(attempt: started + 1, reason: .deadline), context: context)
                        return false
                    }
                    if let budget = configuration.budget, !budget.tryWithdraw() {
                        events.emit(.retryRefused(attempt: started + 1, reason: .budgetExhausted), context: context)
                        return false
                    }
                    events.emit(.hedgeStarted(attempt: started + 1), context: context)
                    start()
                    return true
                }
                start()
                var finished = 0
                var first: ExecutionOutcome<Success>?
                while let event = await group.next() {
                    switch event {
                    case .timer(let generation):
                        if generation == timerGeneration { _ = hedge() }
                    case .finished(let attempt, let outcome):
                        finished += 1
                        if attempt == 1 { first = outcome }
                        guard shouldHedge(outcome) else {
                            group.cancelAll()
                            return outcome
                        }
                        // A hedgeable failure starts the next attempt at once, whoever still runs.
                        if !hedge(), finished == started {
                            group.cancelAll()
                            return first ?? outcome
                        }
                    }
                }
                return first ?? .failure(CancellationError())
            }
        }
    }

    private func shouldHedge<Success>(_ outcome: ExecutionOutcome<Success>) -> Bool {
        switch outcome {
        case .success: false
        case .rejected(let error): configuration.shouldHedge(error)
        case .failure(let error): !(error is CancellationError) && configuration.shouldHedge(error)
        }
    }
}

