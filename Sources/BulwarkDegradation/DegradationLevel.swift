import BulwarkCore
public import BulwarkMonitors

/// How far a service has stepped down to protect itself: `normal`, then `degraded`
/// (non-essential work off), then `critical` (only the essential path).
/// It encodes as its name (`"degraded"`), for status endpoints.
public enum DegradationLevel: Int, Sendable, Hashable, Comparable, CaseIterable, Codable, CustomStringConvertible {
    /// Everything on.
    case normal
    /// Non-essential features off.
    case degraded
    /// Only what the service exists for.
    case critical

    /// Levels order by severity.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `"normal"`, `"degraded"` or `"critical"`.
    public var description: String {
        switch self {
        case .normal: "normal"
        case .degraded: "degraded"
        case .critical: "critical"
        }
    }

    /// Encodes the name.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Decodes a name.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let level = Self.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown level \"\(name)\"")
        }
        self = level
    }
}

/// One rule of a degradation controller: a signal (an error rate, a p95 in seconds, a CPU or
/// memory fraction) and, per level above normal, the value at which the rule enters it and the
/// value below which it leaves it.
///
/// Enter and exit thresholds differ so that a signal hovering around one value does not flap:
/// with `degraded: .init(enter: 0.8, exit: 0.6)` the rule enters `degraded` when the CPU reaches
/// 0.8 and leaves it only once it is below 0.6. A signal that reads `nil` or NaN (a monitor below
/// its minimum of calls, an unavailable resource) leaves the rule where it is.
///
///     DegradationRule("cpu", degraded: .init(enter: 0.8, exit: 0.6), critical: .init(enter: 0.95, exit: 0.85)) {
///         resources.latest?.cpu
///     }
public struct DegradationRule: Sendable {
    /// Where a rule enters a level and where it leaves it.
    public struct Thresholds: Sendable, Hashable {
        /// The rule enters the level when the signal is at least this.
        public var enter: Double
        /// The rule leaves the level when the signal is below this (at most `enter`).
        public var exit: Double

        /// Creates thresholds.
        public init(enter: Double, exit: Double) {
            self.enter = enter
            self.exit = exit
        }
    }

    /// The rule's name, in reasons and reports.
    public var name: String
    /// The thresholds of `degraded`, if the rule can move the service there.
    public var degraded: Thresholds?
    /// The thresholds of `critical`, if the rule can move the service there.
    public var critical: Thresholds?
    /// The signal now, or `nil` when unknown.
    public var signal: @Sendable () -> Double?

    /// Creates a rule.
    public init(
        _ name: String, degraded: Thresholds? = nil, critical: Thresholds? = nil, signal: @escaping @Sendable () -> Double?
    ) {
        self.name = name
        self.degraded = degraded
        self.critical = critical
        self.signal = signal
    }

    /// The level this rule asks for, given the level it asked for last and the signal's value.
    func level(from current: DegradationLevel, value: Double?) -> DegradationLevel {
        guard let value, !value.isNaN else { return current }
        var level = current
        // Up to the highest level whose entry is reached; down while below this level's exit (a
        // level this rule has no thresholds for is not one it can hold).
        for candidate in DegradationLevel.allCases where candidate > level {
            if let t = thresholds(candidate), value >= t.enter { level = candidate }
        }
        while let lower = DegradationLevel(rawValue: level.rawValue - 1) {
            if let t = thresholds(level), value >= t.exit { break }
            level = lower
        }
        return level
    }

    func thresholds(_ level: DegradationLevel) -> Thresholds? {
        switch level {
        case .normal: nil
        case .degraded: degraded
        case .critical: critical
        }
    }
}

extension DegradationRule {
    /// A rule over a monitor's failure rate (a fraction in `0 ... 1`); unknown below the monitor's
    /// minimum of calls.
    public static func failureRate<C>(
        _ name: String = "failure rate", of monitor: ErrorRateMonitor<C>, degraded: Thresholds? = nil, critical: Thresholds? = nil
    ) -> DegradationRule {
        DegradationRule(name, degraded: degraded, critical: critical) { monitor.snapshot().failureRate }
    }

    /// A rule over a monitor's p95 latency, in seconds; unknown while the window is empty.
    public static func latencyP95<C>(
        _ name: String = "p95 latency", of monitor: LatencyMonitor<C>, degraded: Thresholds? = nil, critical: Thresholds? = nil
    ) -> DegradationRule {
        DegradationRule(name, degraded: degraded, critical: critical) {
            let snapshot = monitor.snapshot()
            return snapshot.count == 0 ? nil : Double(snapshot.p95.saturatingNanoseconds) / 1e9
        }
    }

    /// A rule over a resource monitor's CPU usage (a fraction, `cpu` of `ResourceUsage`);
    /// unknown while the monitor has no reading or cannot read one here.
    public static func cpu<C>(
        _ name: String = "cpu", of monitor: ResourceMonitor<C>, degraded: Thresholds? = nil, critical: Thresholds? = nil
    ) -> DegradationRule {
        DegradationRule(name, degraded: degraded, critical: critical) { monitor.latest?.cpu }
    }

    /// A rule over a resource monitor's memory in use (a fraction, `memory` of
    /// `ResourceUsage`); unknown while the monitor has no reading or cannot read one here.
    public static func memory<C>(
        _ name: String = "memory", of monitor: ResourceMonitor<C>, degraded: Thresholds? = nil, critical: Thresholds? = nil
    ) -> DegradationRule {
        DegradationRule(name, degraded: degraded, critical: critical) { monitor.latest?.memory }
    }
}
