import BulwarkCore

/// The waiting room's mechanics: joining, leaving, the timer, and serving the queue in time order.
extension InMemoryRateLimiter {
    /// Serves what fell due by now, then queues the waiter or says why it is answered at once;
    /// returns whom to answer, and how many wait ahead of the caller when it stays queued.
    func enqueue(
        _ request: WaitRequest,
        continuation: UnsafeContinuation<WaitOutcome, Never>,
        into state: inout State
    ) -> ([Resumption], queuedBehind: Int?) {
        let now = clock.nowNanoseconds
        let ticket = request.ticket
        // Events the timer has not served yet happened before this caller arrived.
        var resumptions = state.waiting.count > 0 ? state.drain(at: now) : []
        func answer(_ outcome: WaitOutcome) -> ([Resumption], queuedBehind: Int?) {
            arm(&state, now: now)
            return (resumptions + [Resumption(continuation: continuation, outcome: outcome)], nil)
        }
        if Task.isCancelled {
            return answer(.cancelled)
        }
        if state.waiting.count == 0 {
            let decision = state.algorithm.tryConsume(ticket.cost, at: now)
            if decision.isAllowed {
                return answer(.admitted(decision, at: state.algorithm.updatedAt))
            }
        }
        // The prediction: the wait behind what the order puts ahead of this caller. Int64.max
        // means time alone cannot tell (a concurrency limit), and never refuses anyone.
        let ahead = state.waiting.costAhead(of: ticket)
        let predicted = state.algorithm.nanosecondsUntilAdmitted(queuedAhead: ahead, cost: ticket.cost, at: now)
        if predicted != .max, let maximumWaitNanoseconds, predicted > maximumWaitNanoseconds {
            return answer(.rejected(retryAfter: predicted))
        }
        // A caller that asks to be refused early is, even when its deadline has already passed:
        // it learns how long to back off, rather than that it timed out.
        let rejectEarly = request.rejectEarly || state.waiting.rejectsUnreachableDeadlines
        if predicted != .max, rejectEarly, now.addingSaturating(predicted) > ticket.deadline {
            return answer(.rejected(retryAfter: predicted))
        }
        if ticket.deadline <= now {
            return answer(.timedOut)
        }
        if state.waiting.count >= queueLimit {
            return answer(.queueFull(limit: queueLimit))
        }
        let behind = state.waiting.count
        state.waiting.enqueue(ticket, continuation: continuation, at: now)
        resumptions += state.drain(at: now)  // a newcomer the order serves first may be admitted now
        arm(&state, now: now)
        return (resumptions, state.waiting.contains(id: ticket.id) ? behind : nil)
    }

    /// Removes a cancelled waiter (if it is still queued) and re-examines the queue.
    ///
    /// What fell due before the cancellation is served first, so a waiter whose turn had come
    /// (its timer merely late) is admitted rather than cancelled.
    func withdraw(_ id: UInt64) {
        let now = clock.nowNanoseconds
        let resumptions = state.withLock { state -> [Resumption] in
            var resumptions = state.drain(at: now)
            if let waiter = state.waiting.remove(id: id) {
                resumptions.append(Resumption(continuation: waiter.payload, outcome: .cancelled))
                resumptions += state.drain(at: now)
            }
            arm(&state, now: now)
            return resumptions
        }
        for resumption in resumptions { resumption.resume() }
    }

    /// Changes the algorithm's state at `now` and serves whoever that lets in: events due before
    /// `now` are handled first, with the state as it was, then the change, then the queue again.
    @usableFromInline
    func update<Result>(at now: Int64, _ change: (inout Algorithm) -> Result) -> Result {
        let (result, resumptions) = state.withLock { state -> (Result, [Resumption]) in
            guard state.waiting.count > 0 else { return (change(&state.algorithm), []) }
            var resumptions = state.drain(at: now)
            let result = change(&state.algorithm)
            resumptions += state.drain(at: now)
            arm(&state, now: now)
            return (result, resumptions)
        }
        for resumption in resumptions { resumption.resume() }
        return result
    }

    /// The timer woke: admit and expire what is due, and sleep until the next event.
    private func timerFired(generation: UInt64) {
        let now = clock.nowNanoseconds
        let resumptions = state.withLock { state -> [Resumption] in
            guard state.waiting.timer.fired(generation: generation) else { return [] }
            let resumptions = state.drain(at: now)
            arm(&state, now: now)
            return resumptions
        }
        for resumption in resumptions { resumption.resume() }
    }

    /// Makes sure a timer wakes at the next moment the queue can change, and none while it is empty.
    func arm(_ state: inout State, now: Int64) {
        state.waiting.timer.arm(at: state.nextEvent(at: now), clock: clock) { [self] generation in
            timerFired(generation: generation)
        }
    }
}

/// What `acquire` hands the waiting room.
struct WaitRequest {
    /// The waiter, with its deadline.
    var ticket: WaitTicket
    var rejectEarly: Bool
}

extension InMemoryRateLimiter.State {
    /// Serves the queue up to `now`, replaying its events in time order, and returns whom to answer.
    ///
    /// The events are the head's cost becoming available and the waiters' deadlines. Each is
    /// handled at the instant it happened, even when the timer (or a test's clock) arrives later:
    /// a waiter whose cost was there by its deadline is admitted with the figures of that instant,
    /// and one whose deadline came first times out, whatever `now` has become since. When the
    /// head's cost becomes available exactly at a deadline, admission wins.
    mutating func drain(at now: Int64) -> [Resumption] {
        var resumptions: [Resumption] = []
        var time = min(waiting.servedUntil, now)
        while let head = waiting.next(at: time) {
            // Not before it joined: a waiter cannot be served before it arrived.
            let ready = max(head.enqueuedAt, time.addingSaturating(algorithm.nanosecondsUntilAvailable(head.cost, at: time)))
            let deadline = waiting.earliestDeadline
            if ready <= deadline {
                guard ready <= now else { break }
                let decision = algorithm.tryConsume(head.cost, at: ready)
                guard decision.isAllowed, let waiter = waiting.removeServed(id: head.id) else {
                    break  // an algorithm contradicting itself: stop
                }
                let outcome = WaitOutcome.admitted(decision, at: algorithm.updatedAt)
                resumptions.append(Resumption(continuation: waiter.payload, outcome: outcome))
                time = ready
            } else {
                guard deadline <= now else { break }
                while let waiter = waiting.removeExpired(at: deadline) {
                    resumptions.append(Resumption(continuation: waiter.payload, outcome: .timedOut))
                }
                time = deadline
            }
        }
        waiting.servedUntil = max(waiting.servedUntil, now)
        return resumptions
    }

    /// The next moment the queue can change (the head's cost becomes available, or a deadline
    /// passes), never earlier than one nanosecond from `now`; `nil` when nobody waits.
    func nextEvent(at now: Int64) -> Int64? {
        guard waiting.count > 0 else { return nil }
        var next = waiting.earliestDeadline
        if let head = waiting.next(at: now) {
            next = min(next, now.addingSaturating(algorithm.nanosecondsUntilAvailable(head.cost, at: now)))
        }
        return max(next, now.addingSaturating(1))
    }
}
