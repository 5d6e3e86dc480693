import BulwarkCore

/// Taking from every link or none, waiting, and giving back.
extension RateLimitChain {
    /// Checks that there is one cost per link, each within its link's limit for this context.
    @inline(__always)
    func validate(_ costs: Costs, context: ResilienceContext) throws(BulwarkError) {
        guard costs.count == fixedLimits.count else {
            throw .invalidArgument(field: "costs", rule: "must hold one cost per link, \(fixedLimits.count) (got \(costs.count))")
        }
        for index in 0 ..< fixedLimits.count {
            var limit = fixedLimits[index]
            if limit < 0 {
                let link = operations[index]
                limit = try link.limit(link.target, context)
            }
            guard costs[index] >= 0, costs[index] <= limit else {
                throw .invalidArgument(
                    field: "cost[\(names[index])]",
                    rule: costs[index] < 0 ? "must be at least 0 (got \(costs[index]))"
                        : "must be at most the limit \(limit) (got \(costs[index]))"
                )
            }
        }
    }

    /// Takes `costs` from every link at `now`, or from none; `times` receives each link's
    /// admission reading.
    @inline(__always)
    package func take(_ costs: Costs, at now: Int64, context: ResilienceContext, times: inout Times) throws(BulwarkError) -> ChainDecision {
        try validate(costs, context: context)
        // Each link writes its whole decision into one of two slots, the one not holding the
        // limiting link's so far; only that one is read back, once, at the end.
        var decisions = (RateLimitDecision.unknown, RateLimitDecision.unknown)
        var limiting = -1
        var bestSlot = 0
        var best = Verdict.failure
        for index in 0 ..< unretained.count {
            let slot = bestSlot ^ 1
            let verdict = unretained[index]._withUnsafeGuaranteedRef { link in
                slot == 0 ? link.tryAdmit(link.target, costs[index], now, context, &decisions.0)
                    : link.tryAdmit(link.target, costs[index], now, context, &decisions.1)
            }
            if _slowPath(verdict.failed) {
                giveBack(costs, times, upTo: index, at: now, context: context)
                // Asking again names what failed (a key or a group validation had accepted).
                let link = operations[index]
                _ = try link.limit(link.target, context)
                throw .invalidArgument(field: "link \(names[index])", rule: "could not decide for this context")
            }
            guard verdict.isAllowed else {
                giveBack(costs, times, upTo: index, at: now, context: context)
                return try denial(costs, deniedBy: index, at: now, context: context)
            }
            times[index] = verdict.admittedAt
            if limiting < 0 || verdict.hasLessRemaining(than: best) {
                limiting = index
                best = verdict
                bestSlot = slot
            }
        }
        // The limiting link's figures at its admission: no second look under its lock.
        return ChainDecision(isAllowed: true, link: names[limiting], linkIndex: limiting, decision: bestSlot == 0 ? decisions.0 : decisions.1)
    }

    /// Takes `costs` from every link at `now`, or from none, remembering what it took.
    package func take(_ costs: Costs, at now: Int64, context: ResilienceContext) throws(BulwarkError) -> (decision: ChainDecision, taken: Taken) {
        var taken = Taken(costs: costs)
        let decision = try take(costs, at: now, context: context, times: &taken.times)
        return (decision, taken)
    }

    /// The decision for a call that link `denier` refused: the longest wait of every link.
    private func denial(_ costs: Costs, deniedBy denier: Int, at now: Int64, context: ResilienceContext) throws(BulwarkError) -> ChainDecision {
        var longest = (index: denier, wait: Int64.min)
        for index in 0 ..< operations.count {
            let link = operations[index]
            let wait = try link.wait(link.target, costs[index], now, context)
            if wait > longest.wait || (wait == longest.wait && index < longest.index) {
                longest = (index, wait)
            }
        }
        let decision = try operations[longest.index].snapshot(operations[longest.index].target, now, context)
            .denied(retryAfterNanoseconds: longest.wait)
        return ChainDecision(isAllowed: false, link: names[longest.index], linkIndex: longest.index, decision: decision)
    }

    /// Gives links `0 ..< end` back the `costs` they admitted at `times`.
    package func giveBack(_ costs: Costs, _ times: Times, upTo end: Int, at now: Int64, context: ResilienceContext) {
        for index in 0 ..< end where costs[index] > 0 {
            let link = operations[index]
            link.refund(link.target, costs[index], times[index], now, context)
        }
    }

    /// Gives link `i` back `refunds[i]` of what `taken` holds for it (a budget's surplus), and
    /// takes `charges[i]` from it even if it is not available (a budget's overrun: debt), in one
    /// pass over the links.
    package func settle(_ taken: Taken, refunding refunds: Costs, charging charges: Costs, at now: Int64, context: ResilienceContext) {
        for index in 0 ..< operations.count {
            let refund = refunds[index], charge = charges[index]
            guard refund > 0 || charge > 0 else { continue }
            let link = operations[index]
            if refund > 0 { link.refund(link.target, refund, taken.times[index], now, context) }
            if charge > 0 { link.charge(link.target, charge, now, context) }
        }
    }

    /// Takes `costs` from every link, waiting: in the queue of the link that limits the call, then
    /// taking the others at once; when one of them is short, everything goes back and the wait
    /// moves to that link.
    package func admit(_ costs: Costs, options: WaitOptions, context: ResilienceContext) async throws -> (decision: ChainDecision, taken: Taken) {
        var options = options
        let start = clock.nowNanoseconds
        options.deadline = options.deadlineNanoseconds(at: start).map { .at(nanoseconds: $0) }  // one budget for every wait
        options.maximumWait = nil
        var attempt = try take(costs, at: start, context: context)
        while !attempt.decision.isAllowed {
            let wait = attempt.decision.retryAfterNanoseconds
            let now = clock.nowNanoseconds
            if options.rejectEarly, wait != .max, let deadline = options.deadline?.nanoseconds(resolvedAt: now),
               now.addingSaturating(wait) > deadline {
                throw BulwarkError.rateLimited(retryAfter: .nanoseconds(wait))
            }
            let waited = attempt.decision.linkIndex
            var taken = Taken(costs: costs)
            let link = operations[waited]
            (_, taken.times[waited]) = try await link.admit(link.target, costs[waited], options, context, events)
            attempt = try takeRest(costs, besides: waited, holding: taken, context: context)
        }
        return attempt
    }

    /// With link `held`'s cost already taken (in `taken`), takes every other link's at once, or
    /// gives everything back.
    private func takeRest(_ costs: Costs, besides held: Int, holding taken: Taken, context: ResilienceContext) throws -> (decision: ChainDecision, taken: Taken) {
        let now = clock.nowNanoseconds
        var taken = taken
        var others = costs
        others[held] = 0
        let attempt: (decision: ChainDecision, taken: Taken)
        var heldOnly = Taken(costs: Costs(repeating: 0, count: operations.count))
        heldOnly.costs[held] = costs[held]
        heldOnly.times[held] = taken.times[held]
        do {
            attempt = try take(others, at: now, context: context)
        } catch {
            // `take` gave back what it took itself: only the held link's cost is still out.
            giveBack(heldOnly.costs, heldOnly.times, upTo: operations.count, at: now, context: context)
            throw error
        }
        guard attempt.decision.isAllowed else {
            giveBack(heldOnly.costs, heldOnly.times, upTo: operations.count, at: now, context: context)
            return attempt
        }
        for index in 0 ..< operations.count where index != held {
            taken.times[index] = attempt.taken.times[index]
        }
        return (attempt.decision, taken)
    }
}
