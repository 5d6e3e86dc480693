public import Synchronization

/// A non-essential feature a degradation controller turns off under load: on while the service's
/// level is below ``offAt`` (and no hand holds it), off from there.
///
/// Reading it is one relaxed atomic load: no lock, no hashing, no allocation. Take the switch once
/// (``DegradationController/feature(_:)``) and ask it on the hot path:
///
///     let rerank = try controller.feature("rerank")
///     if rerank.isEnabled { results = try await reranker.rerank(results) }
public final class FeatureSwitch: Sendable {
    /// The feature's name.
    public let name: String
    /// The level at which it turns off.
    public let offAt: DegradationLevel
    @usableFromInline let enabled = Atomic<Bool>(true)

    init(name: String, offAt: DegradationLevel) {
        self.name = name
        self.offAt = offAt
    }

    /// Whether the feature is on now.
    @inlinable
    public var isEnabled: Bool { enabled.load(ordering: .relaxed) }
}

/// A non-essential feature and the level at which it turns off.
public struct Feature: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// The level at which it turns off (`degraded` by default; `critical` for features that
    /// matter more).
    public var offAt: DegradationLevel

    /// Creates a feature.
    public init(_ name: String, offAt: DegradationLevel = .degraded) {
        self.name = name
        self.offAt = offAt
    }
}

/// A hand's decision about a feature, which holds until it is lifted.
public enum FeatureOverride: Sendable, Hashable {
    /// On whatever the level.
    case on
    /// Off whatever the level.
    case off
    /// As the level says.
    case automatic
}
