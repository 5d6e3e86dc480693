import BulwarkCore

/// The circuit breaker's arithmetic as a pure value: state + now + outcome → state, on integer
/// nanoseconds. ``CircuitBreaker`` keeps one behind a lock; a store can keep it elsewhere.
///
/// Time-driven transitions (open → half-open when the open duration has passed, half-open →
/// open when its probes overran ``CircuitBreakerConfiguration/maximumHalfOpenDuration``) happen
/// when the machine is next consulted, dated as the rules say, so a breaker nobody calls costs
/// nothing. Every transition starts a new *generation*: a result carrying an older generation
/// came from a call admitted before the change and is ignored, so it cannot corrupt the new state.
struct CircuitMachine: Sendable {
    /// Whether a call may start.
    enum Permission: Sendable {
        /// It may; record its outcome with this generation.
        case permitted(generation: UInt64)
        /// It may not, in `state`; calls pass again after this many nanoseconds, or `nil` when no
        /// time will tell (forced open, or half-open with every probe out).
        case refused(state: CircuitState, retryAfter: Int64?)
    }

    /// The transitions one step makes, without allocating: at most three (time may move a
    /// half-open breaker to open and on to half-open, then a move by hand or a reset adds one).
    struct Transitions: Sendable {
        private(set) var first: (from: CircuitState, to: CircuitState)?
        private(set) var second: (from: CircuitState, to: CircuitState)?
        private(set) var third: (from: CircuitState, to: CircuitState)?

        mutating func append(_ from: CircuitState, _ to: CircuitState) {
            if first == nil {
                first = (from, to)
            } else if second == nil {
                second = (from, to)
            } else {
                third = (from, to)
            }
        }

        var isEmpty: Bool { first == nil }
    }

    let rules: CircuitBreakerConfiguration.Rules
    private(set) var state: CircuitState = .closed
    private(set) var generation: UInt64 = 0
    private(set) var window: CallWindow
    private(set) var consecutiveFailures = 0
    /// Open: when probes may start.
    private(set) var openUntil: Int64 = 0
    /// How many times in a row the breaker opened without closing in between (from 1).
    private(set) var openings = 0
    /// Half-open: when its first probe was permitted; the maximum half-open duration counts from it.
    private var firstProbeAt: Int64?
    private var probesTaken = 0
    private var probes = CallWindow.Totals()
    /// Calls refused since the breaker was created.
    private(set) var notPermittedCalls = 0

    init(rules: CircuitBreakerConfiguration.Rules, now: Int64) {
        self.rules = rules
        window = CallWindow(size: rules.windowSize, bucketNanoseconds: rules.bucketNanoseconds, now: now)
    }

    // MARK: Steps

    /// Asks whether a call may start at `now`, making the transitions that fell due first.
    mutating func acquire(at now: Int64, transitions: inout Transitions) -> Permission {
        advance(to: now, transitions: &transitions)
        switch state {
        case .closed, .metricsOnly, .disabled:
            return .permitted(generation: generation)
        case .halfOpen where probesTaken < rules.halfOpenProbes:
            if probesTaken == 0, firstProbeAt == nil { firstProbeAt = now }
            probesTaken += 1
            return .permitted(generation: generation)
        case .open:
            notPermittedCalls += 1
            return .refused(state: .open, retryAfter: openUntil - now)
        case .halfOpen, .forcedOpen:
            notPermittedCalls += 1
            return .refused(state: state, retryAfter: nil)
        }
    }

    /// Records the outcome of a call admitted in `generation`, which took `duration` nanoseconds
    /// (`nil` when calls are not timed), and judges the rules. `reading` gives the time: called
    /// only for a time window, a half-open or open state, or a transition, so an untimed closed
    /// breaker reads no clock.
    mutating func record(
        _ outcome: CallOutcome, generation: UInt64, duration: Int64?, reading: () -> Int64, transitions: inout Transitions
    ) {
        // A transition due by now happened before this result arrived, and makes it stale.
        if state == .halfOpen || state == .open { advance(to: reading(), transitions: &transitions) }
        guard generation == self.generation else { return }  // admitted before a transition
        let outcome = outcome == .rateLimited ? rules.rateLimitedOutcome : outcome
        let slow = rules.slowCallRateThreshold != nil && (duration ?? 0) > rules.slowCallNanoseconds
        switch state {
        case .closed, .metricsOnly:
            guard outcome != .ignored else { return }
            let failed = outcome == .failure
            consecutiveFailures = failed ? consecutiveFailures + 1 : 0
            window.record(failure: failed, slow: slow, at: rules.bucketNanoseconds == nil ? 0 : reading())
            if state == .closed, tripsConsecutive || exceeds(window.totals, minimum: rules.minimumCalls) {
                open(at: reading(), transitions: &transitions)
            }
        case .halfOpen:
            guard outcome != .ignored else {
                probesTaken -= 1  // its slot goes to another probe
                return
            }
            let failed = outcome == .failure
            consecutiveFailures = failed ? consecutiveFailures + 1 : 0
            probes.add(CallWindow.Totals(calls: 1, failures: failed ? 1 : 0, slowCalls: slow ? 1 : 0))
            if rules.failureRateThreshold == nil, rules.slowCallRateThreshold == nil {
                // Consecutive failures only: one failing probe is enough, every probe must pass.
                if failed {
                    open(at: reading(), transitions: &transitions)
                } else if probes.calls >= rules.halfOpenProbes {
                    close(at: reading(), transitions: &transitions)
                }
                return
            }
            let minimum = rules.halfOpenMinimumCalls
            if tripsConsecutive || exceeds(probes, minimum: minimum) {
                open(at: reading(), transitions: &transitions)
            } else if probes.calls >= minimum {
                close(at: reading(), transitions: &transitions)
            }
        case .open, .forcedOpen, .disabled:
            return
        }
    }

    /// Moves to `target` by hand at `now`. Closing (or any move into a measuring state) starts
    /// from empty metrics; opening opens for the next open duration. Nothing happens when the
    /// breaker is already in `target`.
    mutating func move(to target: CircuitState, at now: Int64, transitions: inout Transitions) {
        advance(to: now, transitions: &transitions)
        guard target != state else { return }
        switch target {
        case .closed: close(at: now, transitions: &transitions)
        case .open: open(at: now, transitions: &transitions)
        case .halfOpen: enterHalfOpen(at: now, transitions: &transitions)
        case .forcedOpen, .disabled, .metricsOnly:
            window = CallWindow(size: rules.windowSize, bucketNanoseconds: rules.bucketNanoseconds, now: now)
            consecutiveFailures = 0
            begin(target, transitions: &transitions)
        }
    }

    /// Closes with empty metrics and forgets past openings, whatever the state.
    mutating func reset(at now: Int64, transitions: inout Transitions) {
        advance(to: now, transitions: &transitions)  // so the event names the state left
        close(at: now, transitions: &transitions)
    }

    /// Whether a call would be permitted at `now`, without changing anything: not ready while
    /// open (with the rest of the open time), forced open, or half-open with every probe out.
    func readiness(at now: Int64) -> Readiness {
        var machine = self
        var transitions = Transitions()
        machine.advance(to: now, transitions: &transitions)
        switch machine.state {
        case .closed, .disabled, .metricsOnly:
            return .ready
        case .halfOpen:
            return machine.probesTaken < rules.halfOpenProbes ? .ready : .notReady(retryAfter: nil)
        case .open:
            return .notReady(retryAfter: .nanoseconds(machine.openUntil - now))
        case .forcedOpen:
            return .notReady(retryAfter: nil)
        }
    }

    /// The state and totals as they stand at `now` (a time window moved to `now`).
    mutating func snapshot(at now: Int64, transitions: inout Transitions) -> (CircuitState, CallWindow.Totals) {
        advance(to: now, transitions: &transitions)
        window.advance(to: now)
        return (state, state == .halfOpen ? probes : window.totals)
    }

    /// Nanoseconds until an open breaker lets probes through, at `now`.
    func remainingOpen(at now: Int64) -> Int64? {
        state == .open ? max(0, openUntil - now) : nil
    }

    // MARK: Rules

    private var tripsConsecutive: Bool {
        rules.consecutiveFailureThreshold.map { consecutiveFailures >= $0 } ?? false
    }

    /// Whether `totals` hold at least `minimum` calls and a rate is at or above its threshold.
    private func exceeds(_ totals: CallWindow.Totals, minimum: Int) -> Bool {
        guard totals.calls >= minimum, totals.calls > 0 else { return false }
        if let threshold = rules.failureRateThreshold, Self.reaches(totals.failures, of: totals.calls, threshold) { return true }
        if let threshold = rules.slowCallRateThreshold, Self.reaches(totals.slowCalls, of: totals.calls, threshold) { return true }
        return false
    }

    /// `count × 100 ≥ threshold × calls`, exactly, for any threshold a `Double` holds.
    ///
    /// `count × 100` and `calls` are exact in a `Double` (both below 2^53). The product
    /// `threshold × calls` may round, so its rounding error is recovered with a fused
    /// multiply-add (`threshold × calls − product`, computed exactly), and the comparison is
    /// `count × 100 − product ≥ error`, whose subtraction is exact whenever its sign is in doubt.
    static func reaches(_ count: Int, of calls: Int, _ threshold: Double) -> Bool {
        guard count > 0 else { return false }  // every threshold is above 0
        let left = Double(count * 100)
        let product = threshold * Double(calls)
        let error = (-product).addingProduct(threshold, Double(calls))
        return left - product >= error
    }

    // MARK: Transitions

    /// Makes the transitions time has made due by `now`.
    private mutating func advance(to now: Int64, transitions: inout Transitions) {
        if state == .halfOpen, let firstProbeAt, let maximum = rules.maximumHalfOpenNanoseconds {
            let expiry = firstProbeAt.addingSaturating(maximum)
            if now >= expiry { open(at: expiry, transitions: &transitions) }
        }
        if state == .open, now >= openUntil {
            enterHalfOpen(at: now, transitions: &transitions)
        }
    }

    private mutating func open(at time: Int64, transitions: inout Transitions) {
        openings = state == .halfOpen || state == .open ? openings + 1 : 1
        openUntil = time.addingSaturating(rules.openNanoseconds(opening: openings))
        begin(.open, transitions: &transitions)
    }

    private mutating func enterHalfOpen(at now: Int64, transitions: inout Transitions) {
        firstProbeAt = nil
        probesTaken = 0
        probes = CallWindow.Totals()
        consecutiveFailures = 0
        begin(.halfOpen, transitions: &transitions)
    }

    private mutating func close(at now: Int64, transitions: inout Transitions) {
        window = CallWindow(size: rules.windowSize, bucketNanoseconds: rules.bucketNanoseconds, now: now)
        consecutiveFailures = 0
        openings = 0
        begin(.closed, transitions: &transitions)
    }

    private mutating func begin(_ target: CircuitState, transitions: inout Transitions) {
        let from = state
        state = target
        generation &+= 1
        if from != target { transitions.append(from, target) }
    }
}
