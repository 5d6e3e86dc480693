/// One dependency's health, as a pure value: the transitions of a health checker, on clock
/// readings in nanoseconds.
struct DependencyState: Sendable {
    var enabled = true
    /// When the current state began (monotonic and wall clock).
    var since: Int64
    var sinceWall: Int64
    var reason = "registered"
    /// The earliest reading a disabled dependency may come back at.
    var disabledUntil: Int64 = 0
    /// How many times in a row it was disabled again within its probation.
    var streak = 0
    /// When it last came back from being disabled; `nil` before it ever was.
    var recoveredAt: Int64?
    var probeFailures = 0
    var probeSuccesses = 0
    var lastProbeError: String?
    var nextProbeAt: Int64
    /// A hand's decision that holds until it is lifted.
    var override: Bool?

    init(now: Int64, wall: Int64) {
        since = now
        sinceWall = wall
        nextProbeAt = now
    }

    /// Disables it (if it is enabled and no hand holds it enabled), for a cool-down that doubles
    /// with each relapse within the probation. Returns whether it changed.
    mutating func disable(_ why: String, at now: Int64, wall: Int64, policy: Timing) -> Bool {
        guard enabled, override != true else { return false }
        let relapse = recoveredAt.map { now - $0 < policy.probation } ?? false
        streak = relapse ? streak + 1 : 0
        var hold = policy.minimum
        for _ in 0 ..< streak where hold < policy.maximum {
            hold = hold > policy.maximum / 2 ? policy.maximum : hold * 2
        }
        disabledUntil = now.addingReportingOverflow(hold).overflow ? .max : now + hold
        enabled = false
        since = now
        sinceWall = wall
        reason = why
        probeSuccesses = 0
        return true
    }

    /// Holds it in the state a hand chose, with no cool-down and no relapse counted; returns
    /// whether it changed.
    mutating func hold(enabled: Bool, at now: Int64, wall: Int64) -> Bool {
        override = enabled
        disabledUntil = now
        guard self.enabled != enabled else { return false }
        self.enabled = enabled
        since = now
        sinceWall = wall
        reason = enabled ? "enabled by hand" : "disabled by hand"
        if enabled { probeFailures = 0 } else { probeSuccesses = 0 }
        return true
    }

    /// Enables it (if it is disabled and no hand holds it disabled). Returns whether it changed.
    mutating func enable(_ why: String, at now: Int64, wall: Int64) -> Bool {
        guard !enabled, override != false else { return false }
        enabled = true
        recoveredAt = now
        since = now
        sinceWall = wall
        reason = why
        probeFailures = 0
        return true
    }

    /// The policy's durations in nanoseconds.
    struct Timing: Sendable {
        var minimum: Int64
        var maximum: Int64
        var probation: Int64
        var probeInterval: Int64
        var probeTimeout: Int64
    }
}
