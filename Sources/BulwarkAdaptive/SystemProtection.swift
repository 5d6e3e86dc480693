public import BulwarkCore

/// Sentinel-style system protection: new work is refused while the service holds more in flight
/// than it can complete (its best throughput × its best latency), or while CPU is above a
/// threshold.
///
/// The first rule is Sentinel's adaptive ("BBR") check: by Little's law a service completing at
/// most `T` calls per second, each taking at least `L`, keeps `T × L` calls busy; more in flight
/// only queues. `T` is the most calls that succeeded in one bucket of the window (scaled to a
/// rate), `L` the shortest of them in the window (failures and cancellations are not counted: a
/// failure returned fast would make the service look faster than it is). A newcomer is refused
/// when more than one call and more than `T × L` are in flight, compared exactly in integers. Like Sentinel, the rule
/// applies only while the system is loaded (``ConcurrencyRule/whenCPUAbove(_:)``, the default),
/// because with ordinary latency variance an unloaded service also holds more than `T × L`;
/// ``ConcurrencyRule/always`` applies it regardless. Unlike Sentinel, it does not refuse before
/// the window has seen a successful call (Sentinel's `T` is then 0 and it refuses everyone).
///
/// A fixed ``Configuration/maximumInFlight`` may be added (Sentinel's `maxThread`); its refusals
/// give the reason `"maximum in flight"`.
///
/// The second rule refuses everyone while the CPU reading is above ``Configuration/cpuThreshold``
/// (Sentinel's `highestCpuUsage`). The reading comes from a closure (a resource monitor's CPU
/// usage, in `0 ... 1`); `nil` from it means "unknown", which neither rule treats as loaded.
///
/// A refusal is `BulwarkError/overloaded(reason:)` and an
/// `ResilienceEvent/Kind/overloadRejected(reason:)` event.
///
///     let resources = try ResourceMonitor(interval: .seconds(1))   // BulwarkMonitors, run as a Service
///     let protection = try SystemProtection(configuration: .init(cpuThreshold: 0.9)) { resources.latest?.cpu }
public final class SystemProtection<C: NanosecondClock>: OutcomePolicy {
    /// When the throughput × latency rule applies.
    public enum ConcurrencyRule: Sendable, Hashable {
        /// Never.
        case off
        /// While CPU usage is above the fraction given (Sentinel applies it above a system load).
        case whenCPUAbove(Double)
        /// Always.
        case always
    }

    /// What system protection refuses.
    public struct Configuration: Sendable, Hashable {
        /// When the throughput × latency rule applies (default: while CPU is above 0.7).
        public var concurrency: ConcurrencyRule
        /// Refuse everything while CPU usage is above this fraction; `nil` for no CPU rule.
        public var cpuThreshold: Double?
        /// Refuse beyond this many calls in flight whatever the measurements; `nil` for no bound.
        public var maximumInFlight: Int?
        /// The span throughput and latency are measured over (Sentinel: 1 s).
        public var window: Duration
        /// How many buckets the window is cut into.
        public var buckets: Int

        /// Creates a configuration.
        public init(
            concurrency: ConcurrencyRule = .whenCPUAbove(0.7), cpuThreshold: Double? = nil, maximumInFlight: Int? = nil,
            window: Duration = .seconds(1), buckets: Int = 10
        ) {
            self.concurrency = concurrency
            self.cpuThreshold = cpuThreshold
            self.maximumInFlight = maximumInFlight
            self.window = window
            self.buckets = buckets
        }
    }

    @usableFromInline
    struct Bucket: Sendable {
        @usableFromInline var number: Int64
        @usableFromInline var completions: Int64 = 0
        @usableFromInline var shortest: Int64 = .max

        @inlinable
        init(number: Int64) {
            self.number = number
        }
    }

    @usableFromInline
    struct Stats: Sendable {
        @usableFromInline var inFlight = 0
        @usableFromInline var buckets: [Bucket]
    }

    /// The configuration the policy was created with.
    public let configuration: Configuration
    /// The clock calls are timed on.
    public let clock: C
    /// Where refusals go.
    public let events = EventChannel(defaultName: "SystemProtection")
    @usableFromInline let cpuUsage: @Sendable () -> Double?
    @usableFromInline let width: Int64
    @usableFromInline let stats: LockedValue<Stats>

    /// Creates the policy.
    ///
    /// - Parameters:
    ///   - configuration: The rules.
    ///   - clock: The clock calls are timed on.
    ///   - cpuUsage: The CPU usage now, in `0 ... 1`, or `nil` when unknown.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a threshold outside
    ///   `0 ... 1`, a `maximumInFlight` below 1, or a window the buckets do not divide.
    public init(
        configuration: Configuration, clock: C, cpuUsage: @escaping @Sendable () -> Double? = { nil }
    ) throws(BulwarkError) {
        width = try Validation.bucketWidth(window: configuration.window, buckets: configuration.buckets)
        if case .whenCPUAbove(let threshold) = configuration.concurrency {
            try Self.validateFraction(threshold, field: "concurrency")
        }
        if let threshold = configuration.cpuThreshold { try Self.validateFraction(threshold, field: "cpuThreshold") }
        if let maximum = configuration.maximumInFlight { _ = try Validation.atLeast(1, maximum, field: "maximumInFlight") }
        self.configuration = configuration
        self.clock = clock
        self.cpuUsage = cpuUsage
        let past = clock.nowNanoseconds.dividedRoundingDown(by: width) - Int64(configuration.buckets)
        stats = LockedValue(Stats(buckets: Array(repeating: Bucket(number: past), count: configuration.buckets)))
    }

    static func validateFraction(_ value: Double, field: String) throws(BulwarkError) {
        guard value >= 0, value <= 1 else {
            throw .invalidConfiguration(field: field, rule: "must be a CPU fraction in 0 ... 1 (got \(value))")
        }
    }

    /// The calls in flight now.
    public var inFlight: Int { stats.withLock { $0.inFlight } }

    /// The measured capacity now: the best throughput (calls per second) and the shortest call
    /// in the window, and their product (the calls the service can keep busy); `nil` before a
    /// call completed in the window.
    public var capacity: (throughputPerSecond: Double, shortest: Duration, inFlight: Double)? {
        let now = clock.nowNanoseconds
        return stats.withLock { stats -> (Double, Duration, Double)? in
            guard let (most, shortest) = measured(stats, at: now) else { return nil }
            let throughput = Double(most) * 1e9 / Double(width)
            return (throughput, .nanoseconds(shortest), Double(most) * Double(shortest) / Double(width))
        }
    }

    /// The most completions in one bucket of the window and the shortest call, if any completed.
    @inlinable
    func measured(_ stats: Stats, at now: Int64) -> (most: Int64, shortest: Int64)? {
        let newest = now.dividedRoundingDown(by: width)
        var most: Int64 = 0
        var shortest = Int64.max
        for bucket in stats.buckets where newest - bucket.number < Int64(stats.buckets.count) && bucket.number <= newest {
            most = max(most, bucket.completions)
            shortest = min(shortest, bucket.shortest)
        }
        return most > 0 ? (most, shortest) : nil
    }

    /// Takes a place in flight, or says which rule refuses it.
    @inlinable
    func enter(at now: Int64) -> String? {
        refusal(at: now, taking: true)
    }

    /// Which rule refuses a call at `now`, if one does; when none does and `taking`, the call
    /// takes its place in flight (under the same lock).
    @inlinable
    func refusal(at now: Int64, taking: Bool) -> String? {
        let cpu = cpuUsage()
        if let threshold = configuration.cpuThreshold, let cpu, cpu > threshold { return "cpu" }
        let concurrencyApplies: Bool = switch configuration.concurrency {
        case .off: false
        case .always: true
        case .whenCPUAbove(let threshold): cpu.map { $0 > threshold } ?? false
        }
        return stats.withLock { stats -> String? in
            if let maximum = configuration.maximumInFlight, stats.inFlight >= maximum { return "maximum in flight" }
            if concurrencyApplies, stats.inFlight > 1, let (most, shortest) = measured(stats, at: now),
               Int128(stats.inFlight) * Int128(width) > Int128(most) * Int128(shortest) {
                return "concurrency"
            }
            if taking { stats.inFlight += 1 }
            return nil
        }
    }

    /// Gives the place back; a call that succeeded counts toward throughput and latency (a failure
    /// returned fast would make the service look faster than it is; a cancellation says nothing).
    @inlinable
    func exit(startedAt: Int64, completed: Bool) {
        let now = clock.nowNanoseconds
        let number = now.dividedRoundingDown(by: width)
        stats.withLock { stats in
            stats.inFlight -= 1
            guard completed else { return }
            let index = Int(UInt64(bitPattern: number) % UInt64(stats.buckets.count))
            if stats.buckets[index].number != number {
                guard stats.buckets[index].number < number else { return }
                stats.buckets[index] = Bucket(number: number)
            }
            stats.buckets[index].completions += 1
            stats.buckets[index].shortest = min(stats.buckets[index].shortest, max(1, now - startedAt))
        }
    }

    /// Not ready when a rule would refuse a call now (asked without taking a place).
    public func readiness(for context: ResilienceContext) -> Readiness {
        refusal(at: clock.nowNanoseconds, taking: false) == nil ? .ready : .notReady(retryAfter: nil)
    }

    /// Runs `operation` unless a rule refuses it; a refusal is returned as a value.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let start = clock.nowNanoseconds
        if let reason = enter(at: start) {
            events.emit(.overloadRejected(reason: reason), context: context)
            return .rejected(.overloaded(reason: reason))
        }
        let outcome = await operation(context)
        exit(startedAt: start, completed: outcome.isSuccess)
        return outcome
    }
}

extension SystemProtection where C == ContinuousClock {
    /// Creates the policy timed on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        configuration: Configuration = Configuration(), cpuUsage: @escaping @Sendable () -> Double? = { nil }
    ) throws(BulwarkError) {
        try self.init(configuration: configuration, clock: ContinuousClock(), cpuUsage: cpuUsage)
    }
}
