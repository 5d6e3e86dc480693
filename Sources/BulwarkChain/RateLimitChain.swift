public import BulwarkCore
import BulwarkPartitioned

/// Several limiters taken all-or-nothing in one call: global → tenant → user → key, or the
/// dimensions of a token budget.
///
/// Links are tried in order at one clock reading. When a later link denies, every earlier one is
/// given back exactly what it took (each algorithm's exact refund), so a denied call leaves every
/// limiter as if it had never asked. The decision names the most restrictive link: on denial, the
/// one with the longest wait and that wait as the retry-after (links after the denying one are
/// looked at, not touched); when allowed, the one with the fewest permits left.
///
/// Each link takes its own cost (``Costs``, one per link), or all the same one. A link may be one
/// key's partition of a `PartitionedRateLimiter`, the key read from the call's context.
///
/// ``acquire(costs:options:context:)`` waits: in the queue of the link that limits the call, then
/// takes the others at once; if one of them is short it gives everything back and waits on that
/// one, until the deadline.
///
///     let chain = try RateLimitChain([
///         .limiter("global", global),
///         .partitioned("tenant", tenants) { $0.tags["tenant"] },
///         .partitioned("user", users) { $0.partitionKey },
///     ], clock: ContinuousClock())
///     let decision = try chain.tryAcquire(context: context)
///     if !decision.isAllowed { /* 429, Retry-After: decision.retryAfter, limited by decision.link */ }
public final class RateLimitChain<C: NanosecondClock>: RateLimitingPolicy {
    /// The links, outermost first.
    public let links: [Link]
    /// The clock the chain reads once per decision; every link must read the same time line.
    public let clock: C

    /// Where the chain's events go: its denials (whichever link denied), and the refusals of
    /// waiting callers.
    public let events = EventChannel(defaultName: "Chain")
    /// The links' operations and names, as the decisions walk them.
    let operations: ContiguousArray<LinkOperations>
    let names: ContiguousArray<String>
    /// The hot path's view of the links, in arrays of plain values (reading one retains nothing):
    /// each link's fixed limit (-1 for a partitioned link, whose limit depends on the key) and its
    /// operations, unretained (`operations` keeps them alive).
    let fixedLimits: ContiguousArray<Int>
    let unretained: ContiguousArray<Unmanaged<LinkOperations>>

    /// Creates a chain of `links` (1 to 8, with distinct names), tried in order.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for no link, too many, or a
    ///   name used twice.
    public init(_ links: [Link], clock: C) throws(BulwarkError) {
        guard (1 ... Costs.capacity).contains(links.count) else {
            throw .invalidConfiguration(field: "links", rule: "must hold between 1 and \(Costs.capacity) links (got \(links.count))")
        }
        var names = Set<String>()
        for link in links where !names.insert(link.name).inserted {
            throw .invalidConfiguration(field: "links", rule: "must have distinct names (\"\(link.name)\" appears twice)")
        }
        self.links = links
        self.clock = clock
        self.operations = ContiguousArray(links.map(\.limiter))
        self.names = ContiguousArray(links.map(\.name))
        self.fixedLimits = ContiguousArray(links.map { $0.limiter.fixedLimit ?? -1 })
        self.unretained = ContiguousArray(links.map { Unmanaged.passUnretained($0.limiter) })
    }

    /// What one call took from each link, and when: what giving it back needs.
    package struct Taken: Sendable {
        package var costs: Costs
        package var times = Times()
    }

    /// Takes `cost` from every link if every link has it now; never waits.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when the cost is negative or above
    ///   a link's limit (the field names the link), or a partitioned link finds no key.
    public func tryAcquire(cost: Int = 1, context: ResilienceContext = ResilienceContext(operationName: "chain")) throws(BulwarkError) -> ChainDecision {
        try tryAcquire(costs: Costs(repeating: cost, count: links.count), context: context)
    }

    /// Takes `costs[i]` from link `i`, every one or none, if every link has it now; never waits.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `costs` does not have one cost
    ///   per link, a cost is negative or above its link's limit (the field names the link), or a
    ///   partitioned link finds no key.
    public func tryAcquire(costs: Costs, context: ResilienceContext = ResilienceContext(operationName: "chain")) throws(BulwarkError) -> ChainDecision {
        var times = Times()
        let decision = try take(costs, at: clock.nowNanoseconds, context: context, times: &times)
        if !decision.isAllowed {
            events.emit(.limiterDenied(cost: (costs.max() ?? 0), retryAfter: decision.retryAfter), context: context)
        }
        return decision
    }

    /// Takes `cost` from every link, waiting until every link has admitted it.
    ///
    /// - Throws: `BulwarkError/rateLimited(retryAfter:)`, `BulwarkError/queueFull(limit:)`,
    ///   `BulwarkError/waitTimedOut`, `CancellationError`, or
    ///   `BulwarkError/invalidArgument(field:rule:)` as for ``tryAcquire(costs:context:)``.
    @discardableResult
    public func acquire(cost: Int = 1, options: WaitOptions = WaitOptions(), context: ResilienceContext = ResilienceContext(operationName: "chain")) async throws -> ChainDecision {
        try await acquire(costs: Costs(repeating: cost, count: links.count), options: options, context: context)
    }

    /// Takes `costs[i]` from link `i`, every one or none, waiting until every link has admitted it.
    @discardableResult
    public func acquire(costs: Costs, options: WaitOptions = WaitOptions(), context: ResilienceContext = ResilienceContext(operationName: "chain")) async throws -> ChainDecision {
        do {
            return try await admit(costs, options: options, context: context).decision
        } catch {
            events.emitRefusal(error, cost: (costs.max() ?? 0), context: context)
            throw error
        }
    }

    /// Waits for the context's cost on every link (until the context's deadline), then runs
    /// `operation`.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        try await acquire(cost: context.cost, options: context.waitOptions, context: context)
        return try await operation(context)
    }
}

/// Up to eight clock readings stored inline: when each link admitted its cost.
package struct Times: Sendable {
    var storage: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)

    package subscript(index: Int) -> Int64 {
        get { Int64(Costs.element(index, of: storage)) }
        set { withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: Int(newValue), toByteOffset: index &* 8, as: Int.self) } }
    }
}

extension RateLimitChain where C == ContinuousClock {
    /// Creates a chain of `links` on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for no link, too many, or a
    ///   name used twice.
    public convenience init(_ links: [Link]) throws(BulwarkError) {
        try self.init(links, clock: ContinuousClock())
    }
}
