public import BulwarkCore

/// A chain's answer: allowed or not, and the link that limits the call, with its decision.
///
/// When the call is denied, ``link`` is the link with the longest wait (the first such in chain
/// order) and ``retryAfter`` that wait: the most restrictive of all the links, so retrying any
/// sooner is pointless. When it is allowed, ``link`` is the link with the fewest permits left,
/// whose figures are the ones to put in `x-ratelimit-remaining` and `RateLimit` headers.
public struct ChainDecision: Sendable, Hashable, CustomStringConvertible {
    /// Whether every link admitted the call (and took its cost).
    public let isAllowed: Bool
    /// The limiting link's name.
    public let link: String
    /// The limiting link's position in the chain.
    public let linkIndex: Int
    /// The limiting link's decision.
    public let decision: RateLimitDecision

    /// Creates a chain decision.
    public init(isAllowed: Bool, link: String, linkIndex: Int, decision: RateLimitDecision) {
        self.isAllowed = isAllowed
        self.link = link
        self.linkIndex = linkIndex
        self.decision = decision
    }

    /// The link that denied the call, or `nil` when it was allowed.
    public var deniedBy: String? { isAllowed ? nil : link }

    /// How long until the call could be admitted by every link; zero when it was.
    public var retryAfter: Duration { decision.retryAfter }

    /// ``retryAfter`` in nanoseconds.
    public var retryAfterNanoseconds: Int64 { decision.retryAfterNanoseconds }

    /// `allowed (user: remaining=9/10 …)` or `denied by tenant (…)`.
    public var description: String {
        isAllowed ? "allowed (\(link): \(decision))" : "denied by \(link) (\(decision))"
    }
}
