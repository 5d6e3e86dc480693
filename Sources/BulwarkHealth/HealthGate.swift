public import BulwarkCore
public import Synchronization

/// The policy a dependency's calls go through so its health checker sees them and can turn it
/// away: while the dependency is disabled the gate refuses at once with
/// `BulwarkError/unavailable(dependency:retryAfter:)` and its readiness is "not ready", so a
/// fallback chain skips it without calling it.
///
/// An enabled gate times the call and records its outcome in the checker's windows: a success, or
/// a failure as its dependency's `isFailure` says; any other error is not recorded (a refusal by
/// a limiter or breaker inside the gate says nothing of the dependency). One relaxed load to
/// decide, two clock reads and two monitor records per call. Put it outside the dependency's
/// breaker and limiters, and outside a per-attempt timeout only if that timeout's error reaches
/// it as `BulwarkError/timedOut(after:)` (inside a timeout, the call is cancelled instead).
///
///     let gate = try health.gate("openai")
///     let alternative = FallbackAlternative("openai", policy: Pipeline { gate; breaker; limiter }) { _ in try await openAI.chat(request) }
public struct HealthGate<C: NanosecondClock>: OutcomePolicy {
    @usableFromInline let checker: HealthChecker<C>
    @usableFromInline let watched: HealthChecker<C>.Watched

    init(checker: HealthChecker<C>, watched: HealthChecker<C>.Watched) {
        self.checker = checker
        self.watched = watched
    }

    /// The dependency's name.
    public var dependency: String { watched.dependency.name }

    /// Whether the dependency is enabled now.
    @inlinable
    public var isEnabled: Bool { watched.enabled.load(ordering: .relaxed) }

    /// The refusal of a disabled dependency: with the rest of its cool-down, when known.
    @usableFromInline
    func refusal() -> BulwarkError {
        let now = checker.clock.nowNanoseconds
        let until = watched.state.withLock { $0.disabledUntil }
        return .unavailable(dependency: dependency, retryAfter: until > now ? .nanoseconds(until - now) : nil)
    }

    /// Runs `operation` if the dependency is enabled, recording its outcome and latency: a success,
    /// or an error its dependency's `isFailure` calls a failure. Other errors (a refusal by a policy
    /// inside the gate, a cancellation, whatever `isFailure` says nothing of) are not recorded.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        guard isEnabled else { return .rejected(refusal()) }
        let start = checker.clock.nowNanoseconds
        let outcome = await operation(context)
        let failed: Bool
        if let error = outcome.error {
            guard watched.dependency.isFailure(error) else { return outcome }
            failed = true
        } else {
            failed = false
        }
        checker.record(watched, failed: failed, latency: checker.clock.nowNanoseconds &- start)
        return outcome
    }

    /// Not ready while the dependency is disabled, with the rest of its cool-down when known.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard isEnabled else {
            if case .unavailable(_, let retryAfter) = refusal() { return .notReady(retryAfter: retryAfter) }
            return .notReady(retryAfter: nil)
        }
        return .ready
    }
}
