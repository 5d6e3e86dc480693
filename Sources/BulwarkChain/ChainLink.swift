public import BulwarkCore
public import BulwarkEngine
public import BulwarkPartitioned

extension RateLimitChain {
    /// A named limiter of a chain: one shared limiter, or one key's partition of a partitioned
    /// limiter, the key read from each call's context.
    ///
    /// A link is built where the limiter's concrete type is known (the factories are inlinable),
    /// so the chain calls each limiter's decision specialized for its algorithm and clock.
    public struct Link: Sendable {
        /// The name decisions use to say which link limited a call (`"global"`, `"tenant"`).
        public let name: String
        @usableFromInline let limiter: LinkOperations

        @usableFromInline
        init(name: String, limiter: LinkOperations) {
            self.name = name
            self.limiter = limiter
        }

        /// A limiter shared by every call.
        @inlinable
        public static func limiter<Algorithm>(_ name: String, _ limiter: InMemoryRateLimiter<Algorithm, C>) -> Link {
            typealias Limiter = InMemoryRateLimiter<Algorithm, C>
            // The operations capture nothing: they reach the limiter through the link's unretained
            // pointer (the link keeps it alive), so calling one retains nothing.
            return Link(name: name, limiter: LinkOperations(
                owner: limiter,
                fixedLimit: limiter.limit,
                limit: { target, _ throws(BulwarkError) in LinkOperations.with(target, as: Limiter.self) { $0.limit } },
                tryAdmit: { target, cost, now, _, decision in
                    LinkOperations.with(target, as: Limiter.self) { Verdict($0.tryAdmit(cost: cost, at: now), into: &decision) }
                },
                admit: { target, cost, options, _, channel in
                    try await Unmanaged<Limiter>.fromOpaque(target).takeUnretainedValue().admit(cost: cost, options: options, reporting: channel)
                },
                refund: { target, amount, admittedAt, now, _ in
                    LinkOperations.with(target, as: Limiter.self) { $0.refund(amount, admittedAt: admittedAt, at: now) }
                },
                charge: { target, amount, now, _ in LinkOperations.with(target, as: Limiter.self) { $0.charge(amount, at: now) } },
                wait: { target, cost, now, _ throws(BulwarkError) in
                    LinkOperations.with(target, as: Limiter.self) { $0.nanosecondsUntilAdmitted(cost: cost, at: now) }
                },
                snapshot: { target, now, _ throws(BulwarkError) in LinkOperations.with(target, as: Limiter.self) { $0.snapshot(at: now) } }
            ))
        }

        /// The partition of `limiter` for the key `key(context)` of each call (a tenant, a user,
        /// an API key, read from the context's `partitionKey` or `tags`).
        ///
        /// A call whose context has no key for this link is refused with
        /// `BulwarkError/invalidArgument(field:rule:)`.
        @inlinable
        public static func partitioned<Key, Algorithm>(
            _ name: String,
            _ limiter: PartitionedRateLimiter<Key, Algorithm, C>,
            key: @escaping @Sendable (ResilienceContext) -> Key?
        ) -> Link {
            @Sendable func resolve(_ context: ResilienceContext) throws(BulwarkError) -> Key {
                guard let key = key(context) else {
                    throw .invalidArgument(field: "key of link \(name)", rule: "must be present in the context")
                }
                return key
            }
            return Link(name: name, limiter: LinkOperations(
                owner: limiter,
                fixedLimit: nil,
                limit: { _, context throws(BulwarkError) in try limiter.limit(for: resolve(context)) },
                tryAdmit: { _, cost, now, context, decision in
                    guard let key = key(context), let admitted = try? limiter.tryAdmit(key, cost: cost, at: now) else {
                        return .failure
                    }
                    return Verdict(admitted, into: &decision)
                },
                admit: { _, cost, options, context, channel in
                    try await limiter.admit(resolve(context), cost: cost, options: options, reporting: channel)
                },
                refund: { _, amount, admittedAt, now, context in
                    if let key = key(context) { limiter.refund(key, amount: amount, admittedAt: admittedAt, at: now) }
                },
                charge: { _, amount, now, context in
                    if let key = key(context) { limiter.charge(key, amount: amount, at: now) }
                },
                wait: { _, cost, now, context throws(BulwarkError) in
                    try limiter.nanosecondsUntilAdmitted(resolve(context), cost: cost, at: now)
                },
                snapshot: { _, now, context throws(BulwarkError) in try limiter.snapshot(resolve(context), at: now) }
            ))
        }
    }
}

/// What a link answers the chain, small enough to come back in registers: whether it admitted
/// the cost, at which reading, and what remains (an exact fraction). The link's whole decision is
/// written where the chain keeps it: returning it (64 bytes) through the link's closures copied it
/// twice, each copy stalling on the stores that had just made it.
@usableFromInline
struct Verdict: Sendable {
    /// The reading the cost was admitted at; `Int64.min` when the link could not decide (a key or
    /// a group that validation accepted, then refused).
    @usableFromInline let admittedAt: Int64
    @usableFromInline let remainingUnits: Int64
    @usableFromInline let unitsPerPermit: Int64
    @usableFromInline let isAllowed: Bool

    /// The verdict of `admitted`, whose decision is stored in `decision`.
    @inlinable
    init(_ admitted: (decision: RateLimitDecision, admittedAt: Int64), into decision: inout RateLimitDecision) {
        decision = admitted.decision
        admittedAt = admitted.admittedAt
        (remainingUnits, unitsPerPermit) = admitted.decision.remainingFraction
        isAllowed = admitted.decision.isAllowed
    }

    @inlinable
    init(failed: Void) {
        admittedAt = .min
        remainingUnits = 0
        unitsPerPermit = 1
        isAllowed = false
    }

    @inlinable
    static var failure: Verdict { Verdict(failed: ()) }

    /// The link could not decide; nothing was written for it.
    @inlinable
    var failed: Bool { admittedAt == .min && !isAllowed }

    /// Whether fewer permits remain here than in `other`, compared exactly without dividing.
    @inlinable
    func hasLessRemaining(than other: Verdict) -> Bool {
        let mine = max(0, remainingUnits).multipliedFullWidth(by: other.unitsPerPermit)
        let theirs = max(0, other.remainingUnits).multipliedFullWidth(by: unitsPerPermit)
        return mine.high < theirs.high || (mine.high == theirs.high && mine.low < theirs.low)
    }
}

/// One limiter of a chain, as the chain uses it: decisions at a shared clock reading, and exact
/// refunds of what it admitted. Each operation is given the limiter (`target`, unretained:
/// `owner` keeps it alive) and the call's context (a partitioned link reads its key there).
@usableFromInline
final class LinkOperations: @unchecked Sendable {  // every property is immutable; the target is a Sendable limiter
    @usableFromInline typealias Target = UnsafeRawPointer
    /// Decides a cost at a reading, writes the decision into the variable given, and
    /// returns in registers whether it was allowed, the reading it was admitted at, and what
    /// remains. It does not throw: the chain validates costs and keys first, and a link that fails
    /// anyway says so in `Verdict/failed` (and writes nothing).
    @usableFromInline typealias TryAdmit = @Sendable (Target, Int, Int64, ResilienceContext, inout RateLimitDecision) -> Verdict
    let owner: AnyObject
    let target: Target
    /// The limit of a link that has one for every call (not a partitioned one).
    let fixedLimit: Int?
    let limit: @Sendable (Target, ResilienceContext) throws(BulwarkError) -> Int
    let tryAdmit: TryAdmit
    /// Waits for the cost; the last argument is the chain's channel, told when the call queues.
    let admit: @Sendable (Target, Int, WaitOptions, ResilienceContext, EventChannel) async throws -> (decision: RateLimitDecision, admittedAt: Int64)
    let refund: @Sendable (Target, Int, Int64, Int64, ResilienceContext) -> Void
    let charge: @Sendable (Target, Int, Int64, ResilienceContext) -> Void
    let wait: @Sendable (Target, Int, Int64, ResilienceContext) throws(BulwarkError) -> Int64
    let snapshot: @Sendable (Target, Int64, ResilienceContext) throws(BulwarkError) -> RateLimitDecision

    /// Runs `body` with the limiter `target` points to, borrowed (not retained).
    @inlinable
    static func with<Limiter: AnyObject, Result>(_ target: UnsafeRawPointer, as type: Limiter.Type, _ body: (Limiter) -> Result) -> Result {
        Unmanaged<Limiter>.fromOpaque(target)._withUnsafeGuaranteedRef(body)
    }

    @usableFromInline
    init(
        owner: AnyObject,
        fixedLimit: Int?,
        limit: @escaping @Sendable (UnsafeRawPointer, ResilienceContext) throws(BulwarkError) -> Int,
        tryAdmit: @escaping TryAdmit,
        admit: @escaping @Sendable (UnsafeRawPointer, Int, WaitOptions, ResilienceContext, EventChannel) async throws -> (decision: RateLimitDecision, admittedAt: Int64),
        refund: @escaping @Sendable (UnsafeRawPointer, Int, Int64, Int64, ResilienceContext) -> Void,
        charge: @escaping @Sendable (UnsafeRawPointer, Int, Int64, ResilienceContext) -> Void,
        wait: @escaping @Sendable (UnsafeRawPointer, Int, Int64, ResilienceContext) throws(BulwarkError) -> Int64,
        snapshot: @escaping @Sendable (UnsafeRawPointer, Int64, ResilienceContext) throws(BulwarkError) -> RateLimitDecision
    ) {
        self.owner = owner
        self.target = UnsafeRawPointer(Unmanaged.passUnretained(owner).toOpaque())
        self.fixedLimit = fixedLimit
        self.limit = limit
        self.tryAdmit = tryAdmit
        self.admit = admit
        self.refund = refund
        self.charge = charge
        self.wait = wait
        self.snapshot = snapshot
    }
}
