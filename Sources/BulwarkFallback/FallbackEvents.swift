public import BulwarkCore

/// A fallback chain skipped an alternative without trying it (its breaker is open or its limiter would deny at once).
///
/// Emitted as `.fallbackSkipped(alternative:retryAfter:)`; its name is `"fallback.skipped"`.
public struct FallbackSkipped: ResilienceEventDetail {
    /// The alternative's name.
    public var alternative: String
    /// When it may serve again, if known.
    public var retryAfter: Duration?

    /// Creates the event.
    public init(alternative: String, retryAfter: Duration?) {
        self.alternative = alternative
        self.retryAfter = retryAfter
    }

    /// `"fallback.skipped"`.
    public var name: String { "fallback.skipped" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("alternative", alternative)] + (retryAfter.map { [("retry_after_ns", "\($0.saturatingNanoseconds)")] } ?? []) }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

/// An alternative of a fallback chain failed; the chain moves on (or stops, when `stopped`).
///
/// Emitted as `.fallbackFailed(alternative:stopped:error:)`; its name is `"fallback.failed"`.
public struct FallbackFailed: ResilienceEventDetail {
    /// The alternative's name.
    public var alternative: String
    /// Whether the chain stopped here (the error was not one to fall back on).
    public var stopped: Bool
    /// The error's description.
    public var error: String

    /// Creates the event.
    public init(alternative: String, stopped: Bool, error: String) {
        self.alternative = alternative
        self.stopped = stopped
        self.error = error
    }

    /// `"fallback.failed"`.
    public var name: String { "fallback.failed" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("alternative", alternative), ("stopped", "\(stopped)"), ("error", error)] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

/// An alternative of a fallback chain served the call (the last resort is named `"last-resort"`).
///
/// Emitted as `.fallbackUsed(alternative:)`; its name is `"fallback.used"`.
public struct FallbackUsed: ResilienceEventDetail {
    /// The alternative's name.
    public var alternative: String

    /// Creates the event.
    public init(alternative: String) {
        self.alternative = alternative
    }

    /// `"fallback.used"`.
    public var name: String { "fallback.used" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("alternative", alternative)] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// FallbackSkipped: a fallback chain skipped an alternative without trying it (its breaker is open or its limiter would deny at once).
    public static func fallbackSkipped(alternative: String, retryAfter: Duration?) -> Self {
        .detail(.init(FallbackSkipped(alternative: alternative, retryAfter: retryAfter)))
    }

    /// FallbackFailed: an alternative of a fallback chain failed; the chain moves on (or stops, when `stopped`).
    public static func fallbackFailed(alternative: String, stopped: Bool, error: String) -> Self {
        .detail(.init(FallbackFailed(alternative: alternative, stopped: stopped, error: error)))
    }

    /// FallbackUsed: an alternative of a fallback chain served the call (the last resort is named `"last-resort"`).
    public static func fallbackUsed(alternative: String) -> Self {
        .detail(.init(FallbackUsed(alternative: alternative)))
    }
}
