public import BulwarkCore
public import BulwarkEngine

/// A bulkhead whose limit follows measured latency: at most ``limit`` calls in flight, where the
/// limit is an ``AdaptiveLimit``'s (``AIMDLimit``, ``VegasLimit``, ``Gradient2Limit``) and moves
/// after every completed call.
///
/// It is used wherever the fixed `Bulkhead` is, with the same guarantees: the engine's waiting
/// room (any `WaitOrder`, deadlines, cancellation), a permit returned however the work ends.
/// Each call is timed from admission (time spent queued is not latency) to completion, and its
/// outcome classified: a success feeds the estimator its round trip; a drop (a timeout, an
/// overload refusal from downstream) feeds a drop; an ignored call (a cancellation, an error that
/// says nothing about load) only gives its permit back. When the limit rises, waiters are admitted
/// at once; when it falls below what is in flight, new calls wait until enough end. A cost above
/// the current limit (but within the maximum) waits until the limit rises to it, which only
/// completed calls make happen: keep costs at 1 unless every caller's cost fits the minimum.
///
///     let provider = try AdaptiveBulkhead(Gradient2Limit(configuration: .init(initialLimit: 10, minimumLimit: 2)))
///     let reply = try await provider.execute(context) { _ in try await client.chat(request) }
public final class AdaptiveBulkhead<Estimator: AdaptiveLimit, C: NanosecondClock>: OutcomePolicy {
    /// The engine running the adaptive limit.
    @usableFromInline let limiter: InMemoryRateLimiter<AdaptiveConcurrency<Estimator>, C>
    /// How a completed call counts for the estimator.
    public let classify: @Sendable ((any Error)?) -> AdaptiveOutcome

    /// The limit now, as the estimator last moved it.
    public var currentLimit: Int { limiter.snapshot(at: limiter.clock.nowNanoseconds).limit }

    /// The former name of ``currentLimit``: on every other limiter `limit` is the ceiling.
    @available(*, deprecated, renamed: "currentLimit")
    public var limit: Int { currentLimit }

    /// The largest limit the estimator can reach (what a call's cost is checked against).
    public var maximumLimit: Int { limiter.limit }

    /// The units in flight now.
    public var inFlight: Int {
        Int(limiter.modify(at: limiter.clock.nowNanoseconds) { $0.state.inFlight })
    }

    /// The estimator as it is now (its limit and what it learned).
    public var estimator: Estimator {
        limiter.modify(at: limiter.clock.nowNanoseconds) { $0.state.estimator }
    }

    /// How many callers are waiting for a permit now.
    public var waitingCount: Int { limiter.waitingCount }

    /// Where the bulkhead's events go: limit changes, refusals, queueing and wait time-outs.
    public var events: EventChannel { limiter.events }

    /// Creates an adaptive bulkhead on `clock`, which times calls and waiters' deadlines.
    ///
    /// - Parameters:
    ///   - estimator: The limit's arithmetic, at its initial limit.
    ///   - queueLimit: The most callers that may wait (0: no waiting).
    ///   - order: The order in which waiters are served.
    ///   - maximumWait: The longest a caller may wait; `nil` for no bound but its deadline.
    ///   - classify: How a completed call counts; by default ``defaultClassification(_:)``.
    ///   - clock: The clock calls are timed on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(
        _ estimator: Estimator,
        queueLimit: Int = InMemoryRateLimiter<AdaptiveConcurrency<Estimator>, C>.defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        maximumWait: Duration? = nil,
        classify: @escaping @Sendable ((any Error)?) -> AdaptiveOutcome = AdaptiveBulkhead.defaultClassification,
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        let algorithm = AdaptiveConcurrency(configuration: estimator, now: clock.nowNanoseconds)
        limiter = try InMemoryRateLimiter(
            algorithm: algorithm, queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock
        )
        self.classify = classify
    }

    /// A success counts; a drop is a timeout (`BulwarkError/timedOut(after:)`), an overload
    /// refusal from downstream (`BulwarkError/overloaded(reason:)`), or an error of the
    /// dependency's own that carries a retry-after (a 429); Bulwark's other refusals (a limiter or
    /// breaker inside the bulkhead refusing before the call), a cancellation and any other error
    /// are ignored.
    public static func defaultClassification(_ error: (any Error)?) -> AdaptiveOutcome {
        guard let error else { return .success }
        if let error = error as? BulwarkError {
            switch error {
            case .timedOut, .overloaded: return .dropped
            default: return .ignored
            }
        }
        if let error = error as? any RetryAfterProviding, error.retryAfter != nil { return .dropped }
        return .ignored
    }

    /// Takes `cost` units if they fit under the limit now and nobody waits; never waits.
    ///
    /// - Returns: The permit, or `nil` when the bulkhead is full.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `cost` is not in
    ///   `1 ... maximumLimit`.
    public func tryAcquirePermit(cost: Int = 1) throws(BulwarkError) -> AdaptivePermit? {
        try validate(cost)
        let (decision, admittedAt) = limiter.tryAdmit(cost: cost, at: limiter.clock.nowNanoseconds)
        guard decision.isAllowed else {
            limiter.events.emit(.limiterDenied(cost: cost, retryAfter: decision.retryAfter))
            return nil
        }
        return AdaptivePermit(owner: self, cost: cost, startedAt: admittedAt, inFlight: decision.limit - decision.remaining)
    }

    /// Takes `cost` units, waiting in the queue until they fit.
    ///
    /// - Throws: `BulwarkError/queueFull(limit:)`, `BulwarkError/waitTimedOut`,
    ///   `CancellationError`, or `BulwarkError/invalidArgument(field:rule:)` for a bad cost.
    public func acquirePermit(cost: Int = 1, options: WaitOptions = WaitOptions()) async throws -> AdaptivePermit {
        try validate(cost)
        let (decision, admittedAt) = try await limiter.admit(cost: cost, options: options)
        return AdaptivePermit(owner: self, cost: cost, startedAt: admittedAt, inFlight: decision.limit - decision.remaining)
    }

    /// Runs `body` holding `cost` units; its outcome (a value, or the error it threw) is
    /// classified and fed to the estimator.
    ///
    /// - Throws: What ``acquirePermit(cost:options:)`` throws, or what `body` throws.
    public func withPermit<Result: Sendable>(
        cost: Int = 1,
        options: WaitOptions = WaitOptions(),
        _ body: () async throws -> Result
    ) async throws -> Result {
        let permit = try await acquirePermit(cost: cost, options: options)
        do {
            let result = try await body()
            permit.complete(classify(nil))
            return result
        } catch {
            permit.complete(classify(error))
            throw error
        }
    }

    /// Runs `operation` holding the context's cost; a refusal is returned as a value, not thrown.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let cost = context.cost
        guard cost >= 1, cost <= limiter.limit else { return .rejected(invalidCost(cost)) }
        let admitted: Admitted
        let immediate = limiter.tryAdmit(cost: cost, at: limiter.clock.nowNanoseconds)
        if _fastPath(immediate.decision.isAllowed) {
            admitted = Admitted(immediate)
        } else {
            switch await limiter.admission(cost: cost, options: context.waitOptions, context: context) {
            case .success(let admission): admitted = admission
            case .rejected(let error): return .rejected(error)
            case .failure(let error): return .failure(error)
            }
        }
        let outcome = await operation(context)
        let inFlight = admitted.decision.limit - admitted.decision.remaining
        release(cost, startedAt: admitted.admittedAt, inFlight: inFlight, outcome: classify(outcome.error))
        return outcome
    }

    /// Not ready when the context's cost does not fit under the limit now, or callers wait.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard context.cost >= 1 else { return .notReady(retryAfter: nil) }
        return limiter.readiness(for: context)
    }

    /// Gives `cost` units back, feeds the estimator the call's sample (unless ignored), and lets
    /// in whoever the new limit admits.
    @inlinable
    func release(_ cost: Int, startedAt: Int64, inFlight: Int, outcome: AdaptiveOutcome) {
        let now = limiter.clock.nowNanoseconds
        let sample: LimitSample? = switch outcome {
        case .success: LimitSample(startedAt: startedAt, roundTrip: now &- startedAt, inFlight: inFlight, dropped: false)
        case .dropped: LimitSample(startedAt: startedAt, roundTrip: now &- startedAt, inFlight: inFlight, dropped: true)
        case .ignored: nil
        }
        let (before, after) = limiter.modify(at: now) { $0.release(cost, sample: sample, at: now) }
        if before != after { limiter.events.emit(.concurrencyLimitChanged(from: before, to: after)) }
    }

    func validate(_ cost: Int) throws(BulwarkError) {
        guard cost >= 1, cost <= limiter.limit else { throw invalidCost(cost) }
    }

    @usableFromInline
    func invalidCost(_ cost: Int) -> BulwarkError {
        .invalidArgument(field: "cost", rule: "must be between 1 and the maximum limit \(limiter.limit) (got \(cost))")
    }
}

/// How a completed call counts for an adaptive limit (Netflix's `onSuccess`, `onDropped`,
/// `onIgnore`).
public enum AdaptiveOutcome: Sendable, Hashable {
    /// The call completed: its round trip is a sample.
    case success
    /// The call was dropped (timed out, refused for overload): the limit backs off.
    case dropped
    /// The call says nothing about load: its permit is returned, no sample is taken.
    case ignored
}

/// Units of an adaptive bulkhead held by one caller: released exactly once, by
/// `complete(_:)` or, failing that, as ignored when the permit goes out of scope.
///
///     let permit = try await bulkhead.acquirePermit()
///     do { try await call(); permit.complete(.success) } catch { permit.complete(.dropped) }
public struct AdaptivePermit: ~Copyable, Sendable {
    private let owner: any AdaptivePermitOwner
    /// The units this permit holds.
    public let cost: Int
    /// The clock reading at which it was admitted.
    public let startedAt: Int64
    private let inFlight: Int
    private var outcome = AdaptiveOutcome.ignored

    init(owner: any AdaptivePermitOwner, cost: Int, startedAt: Int64, inFlight: Int) {
        self.owner = owner
        self.cost = cost
        self.startedAt = startedAt
        self.inFlight = inFlight
    }

    /// Gives the units back, with how the call ended.
    public consuming func complete(_ outcome: AdaptiveOutcome) {
        self.outcome = outcome
        // The deinit below releases the units as `self` is consumed here.
    }

    deinit {
        owner.release(cost, startedAt: startedAt, inFlight: inFlight, outcome: outcome)
    }
}

/// What an adaptive permit gives its units back to.
protocol AdaptivePermitOwner: AnyObject, Sendable {
    func release(_ cost: Int, startedAt: Int64, inFlight: Int, outcome: AdaptiveOutcome)
}

extension AdaptiveBulkhead: AdaptivePermitOwner {}
