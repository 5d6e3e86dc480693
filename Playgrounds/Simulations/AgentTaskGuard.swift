// The agent runtime's task guard, built from Bulwark's parts. Every model call of every agent
// task goes through `AgentTaskGuard.run`:
//
//   admission: a bulkhead over all providers' slots whose waiters are served by priority (with
//              ageing) and leave after the queue timeout      -> Bulkhead + PriorityWaitOrder
//   retry:     while every provider is busy, limited or down, wait for the soonest one (its exact
//              retry-after when every provider can tell, else a short poll), until the deadline
//                                                               -> Retry
//   fallback:  providers in preference order; one that is not ready is skipped without a call,
//              one that fails passes the call to the next      -> FallbackChain
//   provider:  its health gate (disabled while failing), its concurrency limit, its requests per
//              minute, exact over any trailing 61 s (a second of guard band for the network)
//                                                               -> HealthChecker, Bulkhead,
//                                                                 SlidingWindowLogRateLimiter
import Bulwark
import BulwarkHealth
import BulwarkTestKit

/// The task a model call belongs to, carried in the context so the report can time its wait.
final class TaskRecord: @unchecked Sendable {  // written by the one task that owns it
    let submittedAt: Int64
    var startedAt: Int64?
    var provider: String?

    init(submittedAt: Int64) {
        self.submittedAt = submittedAt
    }

    enum Key: ResilienceAttributeKey {
        typealias Value = TaskRecord
    }
}

/// Every provider busy, limited or down: retry after the soonest one is ready when every one can
/// say when, else after the retry policy's short backoff.
struct AllProvidersBusy: Error, RetryAfterProviding {
    var retryAfter: Duration?
}

final class AgentTaskGuard: Sendable {
    struct Provider: Sendable {
        let simulated: SimulatedProvider
        let bulkhead: Bulkhead<ManualClock>
    }

    let providers: [Provider]
    let health: HealthChecker<ManualClock>
    let admission: Bulkhead<ManualClock>
    let retry: Retry<ManualClock>
    let chain: FallbackChain<String>
    let clock: ManualClock
    let deadline: Duration

    /// - Parameters:
    ///   - queueTimeout: How long a task may wait for admission.
    ///   - deadline: How long a task may take in all, waiting and retrying included.
    init(providers simulated: [SimulatedProvider], queueTimeout: Duration, deadline: Duration, clock: ManualClock) throws {
        var policy = HealthPolicy(
            errorRate: .init(window: .seconds(30), buckets: 10, minimumCalls: 5),
            disableAtFailureRate: 0.5,
            probeInterval: .seconds(10),
            recovery: .afterProbes(successes: 2),
            minimumDisabledTime: .seconds(30),
            maximumDisabledTime: .seconds(300),
            probation: .seconds(120)
        )
        policy.disableAfterProbeFailures = 2
        health = try HealthChecker(
            dependencies: simulated.map { provider in
                // A 429 says the provider is busy, not broken; Bulwark's own refusals say nothing.
                HealthCheckedDependency(
                    provider.profile.name, policy: policy, probe: { try provider.probe() },
                    isFailure: { error in
                        if case ProviderFailure.serverError = error { return true }
                        return false
                    }
                )
            },
            clock: clock
        )
        var providers: [Provider] = []
        var alternatives: [FallbackAlternative<String>] = []
        for provider in simulated {
            let profile = provider.profile
            let bulkhead = try Bulkhead(limit: profile.maxInFlight, queueLimit: 0, clock: clock)
            providers.append(Provider(simulated: provider, bulkhead: bulkhead))
            let gate = try health.gate(profile.name)
            let call: @Sendable (ResilienceContext) async throws -> String = { context in
                if let record = context[TaskRecord.Key.self], record.startedAt == nil {
                    record.startedAt = clock.nowNanoseconds
                }
                let reply = try await provider.chat()
                context[TaskRecord.Key.self]?.provider = profile.name
                return reply
            }
            if let rpm = profile.requestsPerMinute {
                // A window one second longer than the provider's: a request reaches the provider up to
                // 120 ms after the guard admitted it, so admissions a minute and a second apart
                // arrive more than a minute apart, whatever the network does.
                let limiter = try SlidingWindowLogRateLimiter(
                    configuration: .init(limit: rpm, window: .seconds(61)), queueLimit: 0, clock: clock
                )
                alternatives.append(FallbackAlternative(profile.name, policy: Pipeline { gate; bulkhead; limiter }, operation: call))
            } else {
                alternatives.append(FallbackAlternative(profile.name, policy: Pipeline { gate; bulkhead }, operation: call))
            }
        }
        self.providers = providers
        chain = try FallbackChain(alternatives)
        var retry = RetryConfiguration(maximumAttempts: 1_000)
        retry.backoff = .constant(.milliseconds(250))
        retry.maximumDelay = deadline
        retry.shouldRetry = { $0 is AllProvidersBusy }
        self.retry = try Retry(configuration: retry, clock: clock)
        let slots = simulated.map(\.profile.maxInFlight).reduce(0, +)
        admission = try Bulkhead(
            limit: slots, queueLimit: 100_000, order: try PriorityWaitOrder(ageing: PriorityAgeing(levels: 1, every: .seconds(15))),
            maximumWait: queueTimeout, clock: clock
        )
        self.clock = clock
        self.deadline = deadline
    }

    /// One model call of a task: admitted by priority, then the first provider that can serve.
    func run(priority: Priority, record: TaskRecord) async throws -> String {
        var context = ResilienceContext(operationName: "chat", priority: priority, deadline: .after(deadline))
        context[TaskRecord.Key.self] = record
        return try await admission.execute(context) { context in
            try await self.retry.execute(context) { context in
                do {
                    return try await self.chain.execute(context).value
                } catch let failure as FallbackFailure {
                    // Wait for the soonest provider only when every provider said when it is ready.
                    let known = failure.attempts.allSatisfy { attempt in
                        if case .skipped(let after?) = attempt.reason { return after > .zero }
                        return false
                    }
                    throw AllProvidersBusy(retryAfter: known ? failure.retryAfter : nil)
                }
            }
        }
    }
}
