public import BulwarkCore

/// A health checker enabled or disabled a dependency, for `reason` (the rule that tripped, or how it recovered).
///
/// Emitted as `.healthChanged(dependency:enabled:reason:)`; its name is `"health.changed"`.
public struct HealthChanged: ResilienceEventDetail {
    /// The dependency's name.
    public var dependency: String
    /// Whether it is enabled now.
    public var enabled: Bool
    /// The rule that tripped, or how it recovered.
    public var reason: String

    /// Creates the event.
    public init(dependency: String, enabled: Bool, reason: String) {
        self.dependency = dependency
        self.enabled = enabled
        self.reason = reason
    }

    /// `"health.changed"`.
    public var name: String { "health.changed" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("dependency", dependency), ("enabled", "\(enabled)"), ("reason", reason)] }

    /// Warning when disabled, notice when enabled again.
    public var severity: ResilienceEvent.Severity { enabled ? .notice : .warning }
}

extension ResilienceEvent.Kind {
    /// HealthChanged: a health checker enabled or disabled a dependency, for `reason` (the rule that tripped, or how it recovered).
    public static func healthChanged(dependency: String, enabled: Bool, reason: String) -> Self {
        .detail(.init(HealthChanged(dependency: dependency, enabled: enabled, reason: reason)))
    }
}
