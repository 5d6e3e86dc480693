#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a health endpoint serves: every dependency's state, since when and why, and the
/// service's overall status. `Codable`, so it encodes to JSON as it is.
///
///     {"status": "degraded", "httpStatus": 200, "dependencies": [
///       {"name": "openai", "enabled": false, "since": 1764490000000000000, "reason": "failure rate 12/20 failed (60.0 %)", ...}]}
public struct HealthReport: Sendable, Hashable, Codable {
    /// The overall status.
    public enum Status: String, Sendable, Hashable, Codable {
        /// Every dependency is enabled.
        case healthy
        /// Some, not all, are disabled: the service runs on the others.
        case degraded
        /// Every dependency is disabled.
        case unhealthy
    }

    /// One dependency's health.
    public struct Dependency: Sendable, Hashable, Codable {
        /// Its name.
        public var name: String
        /// Whether calls may go to it.
        public var enabled: Bool
        /// When it entered this state, in nanoseconds since the Unix epoch.
        public var since: Int64
        /// How long it has been in this state, in nanoseconds.
        public var forNanoseconds: Int64
        /// Why: the rule that disabled it, or how it came back.
        public var reason: String
        /// Calls recorded in its failure-rate window.
        public var calls: Int
        /// Failed calls among them.
        public var failures: Int
        /// The p95 latency of its latency window, in nanoseconds (0 with no call).
        public var latencyP95Nanoseconds: Int64
        /// Probes failed in a row.
        public var probeFailures: Int
        /// The last failed probe's error, while probes fail.
        public var lastProbeError: String?
        /// For a disabled dependency, the nanoseconds until its cool-down ends (0 once only probes
        /// keep it out).
        public var retryAfterNanoseconds: Int64?
        /// Whether a hand holds it in this state.
        public var heldByHand: Bool

        /// Creates a dependency's entry.
        public init(
            name: String, enabled: Bool, since: Int64, forNanoseconds: Int64, reason: String, calls: Int, failures: Int,
            latencyP95Nanoseconds: Int64, probeFailures: Int, lastProbeError: String?, retryAfterNanoseconds: Int64?,
            heldByHand: Bool
        ) {
            self.name = name
            self.enabled = enabled
            self.since = since
            self.forNanoseconds = forNanoseconds
            self.reason = reason
            self.calls = calls
            self.failures = failures
            self.latencyP95Nanoseconds = latencyP95Nanoseconds
            self.probeFailures = probeFailures
            self.lastProbeError = lastProbeError
            self.retryAfterNanoseconds = retryAfterNanoseconds
            self.heldByHand = heldByHand
        }
    }

    /// Every dependency, in the checker's order.
    public var dependencies: [Dependency]

    /// Creates a report.
    public init(dependencies: [Dependency]) {
        self.dependencies = dependencies
    }

    /// Healthy when every dependency is enabled, unhealthy when none is, degraded otherwise.
    public var status: Status {
        let enabled = dependencies.filter(\.enabled).count
        if enabled == dependencies.count { return .healthy }
        return enabled == 0 ? .unhealthy : .degraded
    }

    /// The HTTP status a health endpoint answers with: 503 when unhealthy, 200 otherwise.
    public var httpStatus: Int { status == .unhealthy ? 503 : 200 }

    enum CodingKeys: String, CodingKey {
        case status, httpStatus, dependencies
    }

    /// Encodes the status, the HTTP status and every dependency.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(httpStatus, forKey: .httpStatus)
        try container.encode(dependencies, forKey: .dependencies)
    }

    /// Decodes the dependencies (the statuses follow from them).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dependencies = try container.decode([Dependency].self, forKey: .dependencies)
    }

    /// Nanoseconds since the Unix epoch, from the system's real-time clock.
    public static func unixNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec)
    }
}
