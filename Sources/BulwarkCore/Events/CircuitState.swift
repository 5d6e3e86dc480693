/// The state of a circuit breaker, as its events and its readers report it.
///
/// The first three are the automatic states; the last three are set by hand and stay until the
/// breaker is moved again.
///
///     if breaker.state == .open { serveFromCache() }
public enum CircuitState: Sendable, Hashable, CustomStringConvertible {
    /// Calls pass and their outcomes are measured; too many failures or slow calls open it.
    case closed
    /// Calls are refused until the open duration has passed.
    case open
    /// A few probe calls pass; their outcomes decide between closed and open.
    case halfOpen
    /// Opened by hand (isolated): every call is refused until the breaker is moved by hand.
    case forcedOpen
    /// Switched off by hand: every call passes and nothing is measured.
    case disabled
    /// Every call passes and is measured, but the breaker never opens (a dry run of its rules).
    case metricsOnly

    /// Whether a call is refused in this state without being tried.
    public var refusesCalls: Bool {
        self == .open || self == .forcedOpen
    }

    /// `"closed"`, `"open"`, `"half-open"`, `"forced-open"`, `"disabled"` or `"metrics-only"`.
    public var description: String {
        switch self {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        case .forcedOpen: "forced-open"
        case .disabled: "disabled"
        case .metricsOnly: "metrics-only"
        }
    }
}
