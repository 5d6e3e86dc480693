public import BulwarkCore

/// The circuit breaker: stops calling a dependency that keeps failing, and probes it before
/// trusting it again.
///
/// Closed, it lets calls through and measures them over a sliding window (the last N calls, or
/// the last N seconds); when the failure rate or the slow-call rate reaches its threshold (once
/// the window holds the minimum number of calls), or when failures come in a row, it opens.
/// Open, it refuses every call with `BulwarkError/circuitOpen(retryAfter:)` carrying the rest
/// of its open time. When that has passed it is half-open: a few probes go through and their
/// outcomes decide between closed and open again (for a longer time, when the open duration
/// grows). It can also be moved by hand: forced open (isolated), closed, disabled, or
/// metrics-only.
///
/// The windows, thresholds and half-open judgement follow Resilience4j's when configured the
/// same way; the guide (`docs/CircuitBreaker.md`) lists where Bulwark differs and why.
///
/// A closed breaker's bookkeeping is one lock taken twice and allocates nothing; it reads the
/// clock only when calls are timed (a time window or a slow-call threshold). A refusal through
/// ``executeOutcome(_:_:)`` allocates nothing either.
///
///     var configuration = CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 20)
///     configuration.openDuration = .fixed(.seconds(30))
///     let breaker = try CircuitBreaker(configuration: configuration)
///     let reply = try await breaker.execute(ResilienceContext(operationName: "chat")) { _ in
///         try await provider.chat(request)
///     }
public final class CircuitBreaker<C: NanosecondClock>: OutcomePolicy {
    /// The configuration the breaker was created with.
    public let configuration: CircuitBreakerConfiguration

    /// The clock the breaker reads.
    public let clock: C

    /// Where the breaker's events go: state changes and refusals.
    public let events = EventChannel(defaultName: "CircuitBreaker")

    let machine: LockedValue<CircuitMachine>
    @usableFromInline let timesCalls: Bool
    @usableFromInline let classifyError: @Sendable (any Error) -> CallOutcome
    @usableFromInline let classifyResult: (@Sendable (any Sendable) -> CallOutcome)?

    /// Creates a closed breaker.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the first field that
    ///   breaks a rule.
    public init(configuration: CircuitBreakerConfiguration, clock: C = ContinuousClock()) throws(BulwarkError) {
        let rules = try configuration.validated()
        self.configuration = configuration
        self.clock = clock
        self.timesCalls = rules.timesCalls
        self.classifyError = configuration.classifyError
        self.classifyResult = configuration.classifyResult
        machine = LockedValue(CircuitMachine(rules: rules, now: clock.nowNanoseconds))
    }

    // MARK: Reading

    /// The state now (an open breaker whose open duration has passed reads half-open).
    public var state: CircuitState {
        metrics.state
    }

    /// The breaker's figures now.
    public var metrics: CircuitBreakerMetrics {
        let now = clock.nowNanoseconds
        var transitions = CircuitMachine.Transitions()
        let metrics = machine.withLock { machine in
            let (state, totals) = machine.snapshot(at: now, transitions: &transitions)
            return CircuitBreakerMetrics(
                state: state, calls: totals.calls, failedCalls: totals.failures, slowCalls: totals.slowCalls,
                notPermittedCalls: machine.notPermittedCalls,
                remainingOpen: machine.remainingOpen(at: now).map { .nanoseconds($0) }
            )
        }
        emit(transitions)
        return metrics
    }

    // MARK: Calls by hand

    /// Asks to start a call: returns its permit, or throws the refusal (typed, so it is not
    /// boxed). Record the call's outcome with ``record(_:_:)``; a half-open probe whose outcome is
    /// never recorded holds its slot until ``CircuitBreakerConfiguration/maximumHalfOpenDuration``.
    ///
    /// - Throws: `BulwarkError/circuitOpen(retryAfter:)`.
    @inlinable
    public func tryAcquirePermit() throws(BulwarkError) -> CircuitPermit {
        let start = timesCalls ? clock.nowNanoseconds : 0
        do {
            return try permit(startedAt: start)
        } catch {
            throw refused(error, context: nil)
        }
    }

    /// The former name of ``tryAcquirePermit()``: it never waits.
    @available(*, deprecated, renamed: "tryAcquirePermit()")
    public func acquirePermit() throws(BulwarkError) -> CircuitPermit {
        try tryAcquirePermit()
    }

    /// Records how a call admitted with `permit` ended. A permit from before a state change is
    /// ignored: its outcome belongs to a state that no longer exists. The permit is consumed: a
    /// call is recorded once.
    @inlinable
    public func record(_ permit: consuming CircuitPermit, _ outcome: CallOutcome) {
        let end = timesCalls ? clock.nowNanoseconds : 0
        finish(permit, outcome, at: end)
    }

    // MARK: Policy

    /// Runs `operation` if the breaker lets it, records how it ended, and reports the outcome;
    /// a refusal is `ExecutionOutcome/rejected(_:)` and allocates nothing.
    @inlinable @inline(__always)
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let permit: CircuitPermit
        do {
            permit = try self.permit(startedAt: timesCalls ? clock.nowNanoseconds : 0)
        } catch {
            return .rejected(refused(error, context: context))
        }
        let outcome = await operation(context)
        finish(permit, classify(outcome), at: timesCalls ? clock.nowNanoseconds : 0)
        return outcome
    }

    /// Not ready while open (with the rest of the open time), forced open, or half-open with
    /// every probe out. Takes nothing.
    public func readiness(for context: ResilienceContext) -> Readiness {
        machine.withLock { machine in
            // Closed, disabled, metrics-only: ready, with no clock to read.
            machine.state.admitsEveryCall ? .ready : machine.readiness(at: clock.nowNanoseconds)
        }
    }

    // MARK: Moving by hand

    /// Moves the breaker to `state` by hand: `.forcedOpen` isolates the dependency until moved
    /// again, `.disabled` lets everything through unmeasured, `.metricsOnly` measures without ever
    /// opening, `.closed` and `.halfOpen` resume automatic operation, `.open` opens for the next
    /// open duration. Calls in flight from before the move are not recorded.
    public func transition(to state: CircuitState) {
        let now = clock.nowNanoseconds
        var transitions = CircuitMachine.Transitions()
        machine.withLock { $0.move(to: state, at: now, transitions: &transitions) }
        emit(transitions)
    }

    /// Closes the breaker with empty metrics and forgets how often it opened.
    public func reset() {
        let now = clock.nowNanoseconds
        var transitions = CircuitMachine.Transitions()
        machine.withLock { $0.reset(at: now, transitions: &transitions) }
        emit(transitions)
    }

    // MARK: Internals

    @usableFromInline
    func permit(startedAt start: Int64) throws(CircuitRefusal) -> CircuitPermit {
        var transitions = CircuitMachine.Transitions()
        let permission = machine.withLock { machine in
            // A closed breaker with a count window needs no time: read the clock only otherwise.
            let now = timesCalls ? start : (machine.state.admitsEveryCall ? 0 : clock.nowNanoseconds)
            return machine.acquire(at: now, transitions: &transitions)
        }
        if _slowPath(!transitions.isEmpty) { emit(transitions) }
        switch permission {
        case .permitted(let generation):
            return CircuitPermit(generation: generation, startedAt: start)
        case .refused(let state, let retryAfter):
            throw CircuitRefusal(state: state, retryAfter: retryAfter.map { .nanoseconds($0) })
        }
    }

    /// The refusal as the caller sees it, reported to the observer.
    @usableFromInline
    func refused(_ refusal: CircuitRefusal, context: ResilienceContext?) -> BulwarkError {
        events.emit(.circuitRejected(state: refusal.state, retryAfter: refusal.retryAfter), context: context)
        return .circuitOpen(retryAfter: refusal.retryAfter)
    }

    @usableFromInline
    func finish(_ permit: consuming CircuitPermit, _ outcome: CallOutcome, at end: Int64) {
        var transitions = CircuitMachine.Transitions()
        let duration = timesCalls ? end - permit.startedAt : nil
        machine.withLock { machine in
            machine.record(
                outcome, generation: permit.generation, duration: duration,
                reading: { timesCalls ? end : clock.nowNanoseconds }, transitions: &transitions
            )
        }
        if _slowPath(!transitions.isEmpty) { emit(transitions) }
    }

    /// How an outcome counts: a cancellation never counts; errors and results as configured.
    @inlinable
    func classify<Success>(_ outcome: ExecutionOutcome<Success>) -> CallOutcome {
        switch outcome {
        case .success(let value):
            return classifyResult?(ErasedResult.unerased(value)) ?? .success
        case .rejected(let error):
            return classifyError(error)
        case .failure(let error):
            if error is CancellationError || Task.isCancelled { return .ignored }
            return classifyError(error)
        }
    }

    func emit(_ transitions: CircuitMachine.Transitions) {
        if let (from, to) = transitions.first { events.emit(.circuitStateChanged(from: from, to: to)) }
        if let (from, to) = transitions.second { events.emit(.circuitStateChanged(from: from, to: to)) }
        if let (from, to) = transitions.third { events.emit(.circuitStateChanged(from: from, to: to)) }
    }
}

extension CircuitState {
    /// Closed, disabled or metrics-only: every call passes, so no time is needed to decide.
    fileprivate var admitsEveryCall: Bool {
        self == .closed || self == .disabled || self == .metricsOnly
    }
}

/// Leave to record one call's outcome: which generation of the breaker admitted it, and when.
///
/// It cannot be copied, and ``CircuitBreaker/record(_:_:)`` consumes it, so a call's outcome is
/// recorded at most once (a half-open probe cannot give its slot back twice).
public struct CircuitPermit: ~Copyable, Sendable {
    @usableFromInline let generation: UInt64
    @usableFromInline let startedAt: Int64

    @usableFromInline
    init(generation: UInt64, startedAt: Int64) {
        self.generation = generation
        self.startedAt = startedAt
    }
}

/// Why a breaker refused a call: its state, and when calls pass again.
@usableFromInline
struct CircuitRefusal: Error {
    let state: CircuitState
    let retryAfter: Duration?
}

/// A circuit breaker's figures at one moment.
public struct CircuitBreakerMetrics: Sendable, Hashable {
    /// The state.
    public var state: CircuitState
    /// The calls in the window (half-open: the probes judged so far).
    public var calls: Int
    /// The failed calls among them.
    public var failedCalls: Int
    /// The slow calls among them (slow failures included).
    public var slowCalls: Int
    /// Calls refused since the breaker was created.
    public var notPermittedCalls: Int
    /// Open: how long until probes may start.
    public var remainingOpen: Duration?

    /// The failure rate in percent, or `nil` with no call in the window.
    public var failureRate: Double? {
        calls == 0 ? nil : Double(failedCalls) * 100 / Double(calls)
    }

    /// The slow-call rate in percent, or `nil` with no call in the window.
    public var slowCallRate: Double? {
        calls == 0 ? nil : Double(slowCalls) * 100 / Double(calls)
    }
}
