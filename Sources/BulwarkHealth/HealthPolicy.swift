public import BulwarkCore
public import BulwarkMonitors

/// When a health checker disables a dependency and how it brings it back.
///
/// **Disabling.** Any rule that trips disables the dependency: the failure rate of the calls
/// through its ``HealthGate`` reaching ``disableAtFailureRate`` (once the window holds its
/// minimum of calls), their p95 latency reaching ``disableAtLatencyP95``, its circuit breaker
/// being open, or its probe failing ``disableAfterProbeFailures`` times in a row.
///
/// **Re-enabling**, by ``recovery``: after a cool-down, or after consecutive successful probes
/// once the cool-down has passed. The passive windows start empty again, so failures from
/// before cannot trip it at once.
///
/// **Hysteresis.** A dependency disabled again within ``probation`` of coming back stays
/// disabled twice as long as the time before (up to ``maximumDisabledTime``); one that stays up
/// for a probation starts again from ``minimumDisabledTime``. So a dependency that keeps failing
/// as soon as it returns is tried less and less often instead of flapping.
public struct HealthPolicy: Sendable {
    /// How a disabled dependency comes back.
    public enum Recovery: Sendable, Hashable {
        /// When its cool-down has passed, without a probe.
        case afterCoolDown
        /// When this many probes in a row succeeded, and not before its cool-down has passed.
        case afterProbes(successes: Int)
    }

    /// The window the failure rate is measured over, and its minimum of calls.
    public var errorRate: ErrorRateMonitor<ContinuousClock>.Configuration
    /// Disable when at least this share of calls failed; `nil` for no failure-rate rule.
    public var disableAtFailureRate: Double?
    /// The window latency percentiles are measured over.
    public var latency: LatencyMonitor<ContinuousClock>.Configuration
    /// Disable when the p95 latency reaches this (with at least the error window's minimum of
    /// calls); `nil` for no latency rule.
    public var disableAtLatencyP95: Duration?
    /// Disable after this many failed probes in a row.
    public var disableAfterProbeFailures: Int
    /// How often the probe runs (when there is one).
    public var probeInterval: Duration
    /// The longest a probe may take; one still running then is cancelled and counts as failed.
    public var probeTimeout: Duration
    /// How a disabled dependency comes back.
    public var recovery: Recovery
    /// The shortest time a dependency stays disabled (the cool-down).
    public var minimumDisabledTime: Duration
    /// The longest a cool-down grows to when a dependency keeps failing as it comes back.
    public var maximumDisabledTime: Duration
    /// How long a re-enabled dependency must stay up before a new failure counts as a fresh
    /// one (resetting the cool-down to its minimum).
    public var probation: Duration

    /// Creates a policy.
    public init(
        errorRate: ErrorRateMonitor<ContinuousClock>.Configuration = .init(window: .seconds(30), buckets: 10, minimumCalls: 10),
        disableAtFailureRate: Double? = 0.5,
        latency: LatencyMonitor<ContinuousClock>.Configuration = .init(window: .seconds(60), buckets: 6),
        disableAtLatencyP95: Duration? = nil,
        disableAfterProbeFailures: Int = 3,
        probeInterval: Duration = .seconds(5),
        probeTimeout: Duration = .seconds(10),
        recovery: Recovery = .afterCoolDown,
        minimumDisabledTime: Duration = .seconds(30),
        maximumDisabledTime: Duration = .seconds(600),
        probation: Duration = .seconds(60)
    ) {
        self.errorRate = errorRate
        self.disableAtFailureRate = disableAtFailureRate
        self.latency = latency
        self.disableAtLatencyP95 = disableAtLatencyP95
        self.disableAfterProbeFailures = disableAfterProbeFailures
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.recovery = recovery
        self.minimumDisabledTime = minimumDisabledTime
        self.maximumDisabledTime = maximumDisabledTime
        self.probation = probation
    }
}

/// A dependency a health checker watches: its name, its policy, and optionally an active
/// probe and its circuit breaker's state.
public struct HealthCheckedDependency: Sendable {
    /// The name reports, events and errors use (a model provider's, a replica's).
    public var name: String
    /// When it is disabled and how it comes back.
    public var policy: HealthPolicy
    /// A cheap call that succeeds when the dependency is up (a models list, a ping); run by the
    /// checker's service every ``HealthPolicy/probeInterval``.
    public var probe: (@Sendable () async throws -> Void)?
    /// The state of the dependency's circuit breaker, if the checker should treat an open one as
    /// a failed dependency.
    public var circuitState: (@Sendable () -> CircuitState)?
    /// Whether a call's error is a failure of the dependency (`false`: the call is not recorded).
    /// By default ``defaultIsFailure(_:)``.
    public var isFailure: @Sendable (any Error) -> Bool

    /// Creates a dependency.
    public init(
        _ name: String,
        policy: HealthPolicy = HealthPolicy(),
        probe: (@Sendable () async throws -> Void)? = nil,
        circuitState: (@Sendable () -> CircuitState)? = nil,
        isFailure: @escaping @Sendable (any Error) -> Bool = HealthCheckedDependency.defaultIsFailure
    ) {
        self.name = name
        self.policy = policy
        self.probe = probe
        self.circuitState = circuitState
        self.isFailure = isFailure
    }

    /// Every error is a failure but a cancellation and Bulwark's own refusals before the call
    /// (a rate limit, a full queue, an open circuit: they say nothing of the dependency, and are
    /// not recorded at all); a timeout is a failure.
    public static func defaultIsFailure(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        guard let error = error as? BulwarkError else { return true }
        if case .timedOut = error { return true }
        return false
    }
}
