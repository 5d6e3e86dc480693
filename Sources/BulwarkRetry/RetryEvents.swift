public import BulwarkCore

/// A retry policy will run attempt `attempt` after `delay`.
///
/// Emitted as `.retryScheduled(attempt:delay:)`; its name is `"retry.scheduled"`.
public struct RetryScheduled: ResilienceEventDetail {
    /// The attempt that will run (the first retry is attempt 2).
    public var attempt: Int
    /// How long the policy waits before it.
    public var delay: Duration

    /// Creates the event.
    public init(attempt: Int, delay: Duration) {
        self.attempt = attempt
        self.delay = delay
    }

    /// `"retry.scheduled"`.
    public var name: String { "retry.scheduled" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("next_attempt", "\(attempt)"), ("delay_ns", "\(delay.saturatingNanoseconds)")] }

    /// Debug: retries are routine.
    public var severity: ResilienceEvent.Severity { .debug }

    /// The delay, recorded in the `retry_delay` histogram.
    public var measurement: (metric: String, value: Duration)? { ("retry_delay", delay) }
}

/// A retry policy did not run attempt `attempt` although the error was retryable.
///
/// Emitted as `.retryRefused(attempt:reason:)`; its name is `"retry.refused"`.
public struct RetryRefused: ResilienceEventDetail {
    /// The attempt that did not run.
    public var attempt: Int
    /// Why not.
    public var reason: RetryRefusal

    /// Creates the event.
    public init(attempt: Int, reason: RetryRefusal) {
        self.attempt = attempt
        self.reason = reason
    }

    /// `"retry.refused"`.
    public var name: String { "retry.refused" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("next_attempt", "\(attempt)"), ("reason", "\(reason)")] }

    /// Notice: the caller gets the error.
    public var severity: ResilienceEvent.Severity { .notice }
}

/// A hedging policy started attempt `attempt` beside the ones still running.
///
/// Emitted as `.hedgeStarted(attempt:)`; its name is `"hedge.started"`.
public struct HedgeStarted: ResilienceEventDetail {
    /// The attempt started (the first hedge is attempt 2).
    public var attempt: Int

    /// Creates the event.
    public init(attempt: Int) {
        self.attempt = attempt
    }

    /// `"hedge.started"`.
    public var name: String { "hedge.started" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("attempt", "\(attempt)")] }

    /// Debug: hedges are routine.
    public var severity: ResilienceEvent.Severity { .debug }
}

extension ResilienceEvent.Kind {
    /// RetryScheduled: a retry policy will run attempt `attempt` after `delay`.
    public static func retryScheduled(attempt: Int, delay: Duration) -> Self {
        .detail(.init(RetryScheduled(attempt: attempt, delay: delay)))
    }

    /// RetryRefused: a retry policy did not run attempt `attempt` although the error was retryable.
    public static func retryRefused(attempt: Int, reason: RetryRefusal) -> Self {
        .detail(.init(RetryRefused(attempt: attempt, reason: reason)))
    }

    /// HedgeStarted: a hedging policy started attempt `attempt` beside the ones still running.
    public static func hedgeStarted(attempt: Int) -> Self {
        .detail(.init(HedgeStarted(attempt: attempt)))
    }
}

/// Why a retry policy did not retry a retryable error.
public enum RetryRefusal: Sendable, Hashable, CustomStringConvertible {
    /// The retry budget had no retry left: retries would amplify an outage.
    case budgetExhausted
    /// The retry would start after the context's deadline.
    case deadline
    /// The error asked to wait longer than the policy's maximum delay.
    case retryAfterTooLong

    /// `"budget exhausted"`, `"deadline"` or `"retry-after too long"`.
    public var description: String {
        switch self {
        case .budgetExhausted: "budget exhausted"
        case .deadline: "deadline"
        case .retryAfterTooLong: "retry-after too long"
        }
    }
}

extension ResilienceEvent {
    /// The reason a retry was refused, now owned by BulwarkRetry.
    @available(*, deprecated, renamed: "RetryRefusal")
    public typealias RetryRefusal = BulwarkRetry.RetryRefusal
}
