public import BulwarkCore

/// A hotspot detector found a key hot, or saw it cool down. The key is a payload for logs and spans; telemetry never makes it a metric label (at most the detector's tracked keys are hot at once, but over time any key may be).
///
/// Emitted as `.hotKeyChanged(key:hot:)`; its name is `"hotspot.changed"`.
public struct HotKeyChanged: ResilienceEventDetail {
    /// The key's description.
    public var key: String
    /// Whether it is hot now.
    public var hot: Bool

    /// Creates the event.
    public init(key: String, hot: Bool) {
        self.key = key
        self.hot = hot
    }

    /// `"hotspot.changed"`.
    public var name: String { "hotspot.changed" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("key", key), ("hot", "\(hot)")] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// HotKeyChanged: a hotspot detector found a key hot, or saw it cool down. The key is a payload for logs and spans; telemetry never makes it a metric label (at most the detector's tracked keys are hot at once, but over time any key may be).
    public static func hotKeyChanged(key: String, hot: Bool) -> Self {
        .detail(.init(HotKeyChanged(key: key, hot: hot)))
    }
}
