public import BulwarkCore
public import BulwarkMonitors
public import Synchronization

/// Watches dependencies (model providers, replicas) and disables the failing ones: passive
/// signals from the calls through each one's ``HealthGate`` (failure rate, p95 latency), its
/// circuit breaker, and optional active probes; a disabled dependency is re-enabled after a
/// cool-down or once its probes succeed, with hysteresis so it does not flap (see
/// ``HealthPolicy``).
///
/// A fallback chain skips a disabled dependency without calling it: put its gate in its
/// pipeline, and the gate's readiness says "not ready". ``report()`` is the value a health
/// endpoint serves: per dependency, enabled or not, since when and why.
///
/// The checker is `PeriodicWork`: ``run()`` evaluates every dependency each
/// `evaluationInterval` (cool-downs, latency, probes due) until cancelled (`BulwarkLifecycle`
/// turns it into a swift-service-lifecycle `Service` that also stops on graceful shutdown). A failed call
/// is judged at once (the failure rate is summed as it is recorded), so a dependency failing
/// under traffic is disabled before the next evaluation. Every change is an event
/// (`ResilienceEvent/Kind/healthChanged(dependency:enabled:reason:)`).
///
///     let health = try HealthChecker(dependencies: [
///         HealthCheckedDependency("openai", probe: { try await openAI.models() }),
///         HealthCheckedDependency("anthropic"),
///     ])
///     let gate = try health.gate("openai")
///     let openAIPipeline = Pipeline { gate; breaker; limiter }
///     // in the ServiceGroup: health.service; in the health endpoint's handler:
///     let body = try JSONEncoder().encode(health.report())
public final class HealthChecker<C: NanosecondClock>: PeriodicWork {
    /// One watched dependency: its configuration, monitors, state and the flag gates read.
    @usableFromInline
    final class Watched: Sendable {
        @usableFromInline let dependency: HealthCheckedDependency
        let timing: DependencyState.Timing
        @usableFromInline let errors: ErrorRateMonitor<C>
        @usableFromInline let latency: LatencyMonitor<C>
        let state: LockedValue<DependencyState>
        /// What gates read on every call: one relaxed load.
        @usableFromInline let enabled = Atomic<Bool>(true)

        init(_ dependency: HealthCheckedDependency, clock: C = ContinuousClock(), wall: Int64) throws(BulwarkError) {
            let policy = dependency.policy
            timing = try DependencyState.Timing(
                minimum: Validation.positiveNanoseconds(policy.minimumDisabledTime, field: "minimumDisabledTime"),
                maximum: Validation.positiveNanoseconds(policy.maximumDisabledTime, field: "maximumDisabledTime"),
                probation: Validation.positiveNanoseconds(policy.probation, field: "probation"),
                probeInterval: Validation.positiveNanoseconds(policy.probeInterval, field: "probeInterval"),
                probeTimeout: Validation.positiveNanoseconds(policy.probeTimeout, field: "probeTimeout")
            )
            guard timing.maximum >= timing.minimum else {
                throw .invalidConfiguration(field: "maximumDisabledTime", rule: "must be at least minimumDisabledTime")
            }
            if let rate = policy.disableAtFailureRate, !(rate > 0 && rate <= 1) {
                throw .invalidConfiguration(field: "disableAtFailureRate", rule: "must be in 0 < rate <= 1 (got \(rate))")
            }
            _ = try Validation.atLeast(1, policy.disableAfterProbeFailures, field: "disableAfterProbeFailures")
            if let p95 = policy.disableAtLatencyP95 { _ = try Validation.positiveNanoseconds(p95, field: "disableAtLatencyP95") }
            if case .afterProbes(let successes) = policy.recovery {
                _ = try Validation.atLeast(1, successes, field: "recovery")
                guard dependency.probe != nil else {
                    throw .invalidConfiguration(field: "recovery", rule: "needs a probe to recover after probes (\(dependency.name) has none)")
                }
            }
            self.dependency = dependency
            let e = policy.errorRate
            let l = policy.latency
            errors = try ErrorRateMonitor(
                configuration: .init(window: e.window, buckets: e.buckets, minimumCalls: e.minimumCalls), clock: clock
            )
            latency = try LatencyMonitor(
                configuration: .init(
                    window: l.window, buckets: l.buckets, lowest: l.lowest, highest: l.highest, significantDigits: l.significantDigits
                ),
                clock: clock
            )
            state = LockedValue(DependencyState(now: clock.nowNanoseconds, wall: wall))
        }
    }

    /// The clock cool-downs, probes and latencies are timed on.
    public let clock: C
    /// How often ``run()`` evaluates every dependency.
    public let evaluationInterval: Duration
    /// Nanoseconds since the Unix epoch, for the report's "since".
    public let wallClock: @Sendable () -> Int64
    /// Where changes go.
    public let events = EventChannel(defaultName: "HealthChecker")
    let watched: [String: Watched]
    let order: [String]

    /// Creates a checker watching `dependencies`, all enabled.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for two dependencies of one
    ///   name, a policy breaking a rule (a non-positive duration, a failure rate outside
    ///   `0 < rate <= 1`, recovery by probes without a probe), or a bad `evaluationInterval`.
    public init(
        dependencies: [HealthCheckedDependency],
        evaluationInterval: Duration = .seconds(1),
        clock: C = ContinuousClock(),
        wallClock: @escaping @Sendable () -> Int64 = HealthReport.unixNanoseconds
    ) throws(BulwarkError) {
        _ = try Validation.positiveNanoseconds(evaluationInterval, field: "evaluationInterval")
        var watched: [String: Watched] = [:]
        for dependency in dependencies {
            guard watched[dependency.name] == nil else {
                throw .invalidConfiguration(field: "dependencies", rule: "must have distinct names (\"\(dependency.name)\" is used twice)")
            }
            watched[dependency.name] = try Watched(dependency, clock: clock, wall: wallClock())
        }
        self.watched = watched
        order = dependencies.map(\.name)
        self.clock = clock
        self.evaluationInterval = evaluationInterval
        self.wallClock = wallClock
    }

    /// The gate of `name`'s calls: put it in that dependency's pipeline.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a name the checker does not
    ///   watch.
    public func gate(_ name: String) throws(BulwarkError) -> HealthGate<C> {
        HealthGate(checker: self, watched: try dependency(name))
    }

    /// Whether `name` is enabled now (`false` for a name the checker does not watch).
    public func isEnabled(_ name: String) -> Bool {
        watched[name]?.enabled.load(ordering: .relaxed) ?? false
    }

    /// Holds `name` enabled (`true`) or disabled (`false`) whatever the measurements say, or
    /// (`nil`) gives it back to them. A hand's decision sets no cool-down and counts no relapse;
    /// given back disabled, the dependency comes back as its recovery says (the cool-down, counted
    /// from then, or its probes).
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for an unknown name.
    public func override(_ name: String, enabled: Bool?) throws(BulwarkError) {
        let watched = try dependency(name)
        let now = clock.nowNanoseconds
        let wall = wallClock()
        change(watched) { state in
            guard let enabled else {
                state.override = nil
                return false
            }
            return state.hold(enabled: enabled, at: now, wall: wall)
        }
    }

    func dependency(_ name: String) throws(BulwarkError) -> Watched {
        guard let watched = watched[name] else {
            throw .invalidArgument(field: "name", rule: "must name a watched dependency (got \"\(name)\")")
        }
        return watched
    }

    /// Applies `transition` to a dependency's state; when it changed, publishes the flag, starts
    /// the passive windows afresh on re-enabling, and emits the event.
    func change(_ watched: Watched, _ transition: (inout DependencyState) -> Bool) {
        let changed = watched.state.withLock { state -> (enabled: Bool, reason: String)? in
            guard transition(&state) else { return nil }
            watched.enabled.store(state.enabled, ordering: .relaxed)
            return (state.enabled, state.reason)
        }
        guard let changed else { return }
        if changed.enabled {
            watched.errors.reset()
            watched.latency.reset()
        }
        events.emit(.healthChanged(dependency: watched.dependency.name, enabled: changed.enabled, reason: changed.reason))
    }

    /// Records a call through a gate: a failure trips the failure-rate rule at once.
    @inlinable
    func record(_ watched: Watched, failed: Bool, latency: Int64) {
        watched.errors.record(failed: failed)
        watched.latency.record(nanoseconds: latency)
        if failed { checkFailureRate(watched) }
    }

    @usableFromInline
    func checkFailureRate(_ watched: Watched) {
        guard let threshold = watched.dependency.policy.disableAtFailureRate else { return }
        let snapshot = watched.errors.snapshot()
        guard snapshot.failureRate(atLeast: threshold) else { return }
        let now = clock.nowNanoseconds
        let wall = wallClock()
        change(watched) { $0.disable("failure rate \(snapshot)", at: now, wall: wall, policy: watched.timing) }
    }

    /// Evaluates every dependency now: its passive rules, its breaker, its cool-down, and the
    /// probes that are due (run concurrently, awaited).
    public func evaluate() async {
        await withTaskGroup(of: Void.self) { group in
            for name in order {
                guard let watched = watched[name] else { continue }
                evaluatePassive(watched)
                let now = clock.nowNanoseconds
                let due = watched.state.withLock { state -> Bool in
                    guard watched.dependency.probe != nil, now >= state.nextProbeAt else { return false }
                    state.nextProbeAt = now.addingSaturating(watched.timing.probeInterval)
                    return true
                }
                if due, let probe = watched.dependency.probe {
                    group.addTask { await self.runProbe(probe, of: watched) }
                }
            }
        }
    }

    func evaluatePassive(_ watched: Watched) {
        let policy = watched.dependency.policy
        let now = clock.nowNanoseconds
        let wall = wallClock()
        checkFailureRate(watched)
        if let threshold = policy.disableAtLatencyP95 {
            let latency = watched.latency.snapshot()
            if latency.count >= policy.errorRate.minimumCalls, latency.p95 >= threshold {
                change(watched) { $0.disable("p95 latency \(latency.p95) ≥ \(threshold)", at: now, wall: wall, policy: watched.timing) }
            }
        }
        if let circuitState = watched.dependency.circuitState {
            let circuit = circuitState()
            if circuit == .open || circuit == .forcedOpen {
                change(watched) { $0.disable("circuit \(circuit)", at: now, wall: wall, policy: watched.timing) }
            }
        }
        if policy.recovery == .afterCoolDown, !breakerRefuses(watched) {
            change(watched) { state in
                guard !state.enabled, now >= state.disabledUntil else { return false }
                return state.enable("cool-down passed", at: now, wall: wall)
            }
        }
    }

    /// Whether the dependency's breaker refuses calls now: then nothing may bring it back.
    func breakerRefuses(_ watched: Watched) -> Bool {
        guard let circuitState = watched.dependency.circuitState else { return false }
        let state = circuitState()
        return state == .open || state == .forcedOpen
    }

    func runProbe(_ probe: @escaping @Sendable () async throws -> Void, of watched: Watched) async {
        let failure = await probeOutcome(probe, timeout: watched.timing.probeTimeout)
        let breakerRefuses = breakerRefuses(watched)
        let policy = watched.dependency.policy
        let now = clock.nowNanoseconds
        let wall = wallClock()
        change(watched) { state in
            guard let error = failure else {
                state.probeFailures = 0
                state.probeSuccesses += 1
                state.lastProbeError = nil
                guard case .afterProbes(let successes) = policy.recovery, !state.enabled, !breakerRefuses,
                      state.probeSuccesses >= successes, now >= state.disabledUntil else { return false }
                return state.enable("\(state.probeSuccesses) probes succeeded", at: now, wall: wall)
            }
            state.probeSuccesses = 0
            state.probeFailures += 1
            state.lastProbeError = String(describing: error)
            guard state.probeFailures >= policy.disableAfterProbeFailures else { return false }
            return state.disable(
                "\(state.probeFailures) probes failed: \(error)", at: now, wall: wall, policy: watched.timing
            )
        }
    }

    /// Runs `probe`, cancelled after `timeout` nanoseconds on the checker's clock: `nil` when it
    /// succeeded, else its error (`BulwarkError/timedOut(after:)` when it ran out of time).
    func probeOutcome(_ probe: @escaping @Sendable () async throws -> Void, timeout: Int64) async -> (any Error)? {
        await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    try await probe()
                    return nil
                } catch {
                    return error
                }
            }
            group.addTask {
                do {
                    try await self.clock.sleep(untilNanoseconds: self.clock.nowNanoseconds.addingSaturating(timeout))
                } catch {
                    return CancellationError()  // the probe finished first
                }
                return BulwarkError.timedOut(after: .nanoseconds(timeout))
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Evaluates every `evaluationInterval` until cancelled (or, run as `.service` in a
    /// `ServiceGroup` through `BulwarkLifecycle`, until graceful shutdown).
    public func run() async throws {
        await runPeriodically(every: evaluationInterval.saturatingNanoseconds, on: clock) { await self.evaluate() }
    }

    /// Every dependency's health now, in the order they were given.
    public func report() -> HealthReport {
        let now = clock.nowNanoseconds
        let entries = order.compactMap { name -> HealthReport.Dependency? in
            guard let watched = watched[name] else { return nil }
            let state = watched.state.withLock { $0 }
            let errors = watched.errors.snapshot()
            let latency = watched.latency.snapshot()
            return HealthReport.Dependency(
                name: name,
                enabled: state.enabled,
                since: state.sinceWall,
                forNanoseconds: max(0, now - state.since),
                reason: state.reason,
                calls: errors.calls,
                failures: errors.failures,
                latencyP95Nanoseconds: latency.p95.saturatingNanoseconds,
                probeFailures: state.probeFailures,
                lastProbeError: state.lastProbeError,
                retryAfterNanoseconds: state.enabled ? nil : max(0, state.disabledUntil - now),
                heldByHand: state.override != nil
            )
        }
        return HealthReport(dependencies: entries)
    }
}

