public import BulwarkCore

/// A degradation controller moved the service between levels.
///
/// Emitted as `.degradationChanged(from:to:)`; its name is `"degradation.changed"`.
public struct DegradationChanged: ResilienceEventDetail {
    /// The level before.
    public var from: String
    /// The level after.
    public var to: String

    /// Creates the event.
    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    /// `"degradation.changed"`.
    public var name: String { "degradation.changed" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("from", from), ("to", to)] }

    /// Warning.
    public var severity: ResilienceEvent.Severity { .warning }
}

/// A feature switch turned on or off (by the degradation level or by hand).
///
/// Emitted as `.featureSwitched(feature:enabled:)`; its name is `"feature.switched"`.
public struct FeatureSwitched: ResilienceEventDetail {
    /// The feature's name.
    public var feature: String
    /// Whether it is on now.
    public var enabled: Bool

    /// Creates the event.
    public init(feature: String, enabled: Bool) {
        self.feature = feature
        self.enabled = enabled
    }

    /// `"feature.switched"`.
    public var name: String { "feature.switched" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("feature", feature), ("enabled", "\(enabled)")] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// DegradationChanged: a degradation controller moved the service between levels.
    public static func degradationChanged(from: String, to: String) -> Self {
        .detail(.init(DegradationChanged(from: from, to: to)))
    }

    /// FeatureSwitched: a feature switch turned on or off (by the degradation level or by hand).
    public static func featureSwitched(feature: String, enabled: Bool) -> Self {
        .detail(.init(FeatureSwitched(feature: feature, enabled: enabled)))
    }
}
