public import BulwarkCore
public import BulwarkMonitors
import Synchronization

/// Moves a service between levels (normal → degraded → critical) by rules over its monitors,
/// and turns its non-essential features off as the level rises.
///
/// **Levels.** Each ``DegradationRule`` asks for a level from its signal, with enter and exit
/// thresholds (hysteresis); the service's level is the highest any rule asks for. A level is held
/// at least ``minimumDwell`` once entered: a change asked for sooner waits until the dwell has
/// passed (and is made then only if the rules still ask for it); the starting `normal` counts as
/// held since before the controller was created, so the first change is not delayed. Short
/// spikes are best smoothed by the signals themselves (an error rate over a window). A hand may
/// force a level (``force(_:)``) at once; it holds until lifted. A hand's action (forcing a level,
/// holding a feature) applies at once, and with it any change the rules were waiting for the
/// dwell to make.
///
/// **Feature switches.** Each ``Feature`` is on below its `offAt` level and off from there,
/// unless a hand holds it (``override(_:_:)``). ``FeatureSwitch/isEnabled`` is one relaxed atomic
/// load; ``isEnabled(_:)`` by name adds a dictionary lookup (the dictionary never changes after
/// creation, so no lock).
///
/// Every change of level or switch is an event. ``evaluate()`` reads the rules once; ``run()``
/// (the controller is `PeriodicWork`) evaluates every `evaluationInterval` until cancelled. Call
/// ``evaluate()`` from one task (two at once may apply their readings out of order).
///
///     let controller = try DegradationController(
///         rules: [
///             DegradationRule("errors", degraded: .init(enter: 0.1, exit: 0.05), critical: .init(enter: 0.3, exit: 0.2)) {
///                 errors.snapshot().failureRate
///             },
///             .latencyP95(of: latency, degraded: .init(enter: 5, exit: 3)),   // seconds
///         ],
///         features: [Feature("rerank"), Feature("suggestions"), Feature("history", offAt: .critical)],
///         minimumDwell: .seconds(30))
///     let rerank = try controller.feature("rerank")
public final class DegradationController<C: NanosecondClock>: PeriodicWork {
    struct State: Sendable {
        var level = DegradationLevel.normal
        var since: Int64
        /// The level each rule asked for last.
        var ruleLevels: [DegradationLevel]
        var forced: DegradationLevel?
        var overrides: [String: FeatureOverride] = [:]
        var reason = "started"
    }

    /// The rules, in the order given.
    public let rules: [DegradationRule]
    /// The shortest time a level is held before the next change.
    public let minimumDwell: Duration
    /// How often ``run()`` evaluates the rules.
    public let evaluationInterval: Duration
    /// The clock dwell times are read on.
    public let clock: C
    /// Where level changes and switch changes go.
    public let events = EventChannel(defaultName: "Degradation")
    let switches: [String: FeatureSwitch]
    let featureOrder: [String]
    let dwell: Int64
    let state: LockedValue<State>
    let current = Atomic<Int>(0)

    /// Creates a controller at `normal`, every feature on.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a rule whose exit
    ///   threshold is above its entry, or whose critical entry is below its degraded entry; two
    ///   rules or two features of one name; a negative dwell or a non-positive interval.
    public init(
        rules: [DegradationRule],
        features: [Feature] = [],
        minimumDwell: Duration = .seconds(30),
        evaluationInterval: Duration = .seconds(1),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        var names = Set<String>()
        for rule in rules {
            guard names.insert(rule.name).inserted else {
                throw .invalidConfiguration(field: "rules", rule: "must have distinct names (\"\(rule.name)\" is used twice)")
            }
            for case let (level, thresholds?) in [("degraded", rule.degraded), ("critical", rule.critical)]
            where thresholds.exit > thresholds.enter || thresholds.exit.isNaN || thresholds.enter.isNaN {
                throw .invalidConfiguration(
                    field: "rules", rule: "\(rule.name): the \(level) exit (\(thresholds.exit)) must be at most its entry (\(thresholds.enter))"
                )
            }
            if let degraded = rule.degraded, let critical = rule.critical, critical.enter < degraded.enter {
                throw .invalidConfiguration(field: "rules", rule: "\(rule.name): the critical entry must be at least the degraded entry")
            }
        }
        var switches: [String: FeatureSwitch] = [:]
        for feature in features {
            guard switches[feature.name] == nil else {
                throw .invalidConfiguration(field: "features", rule: "must have distinct names (\"\(feature.name)\" is used twice)")
            }
            guard feature.offAt > .normal else {
                throw .invalidConfiguration(field: "features", rule: "\(feature.name): offAt must be degraded or critical")
            }
            switches[feature.name] = FeatureSwitch(name: feature.name, offAt: feature.offAt)
        }
        guard minimumDwell >= .zero, let dwell = minimumDwell.exactNanoseconds else {
            throw .invalidConfiguration(field: "minimumDwell", rule: "must be at least 0 (got \(minimumDwell))")
        }
        _ = try Validation.positiveNanoseconds(evaluationInterval, field: "evaluationInterval")
        self.rules = rules
        self.minimumDwell = minimumDwell
        self.evaluationInterval = evaluationInterval
        self.clock = clock
        self.switches = switches
        featureOrder = features.map(\.name)
        self.dwell = dwell
        // `normal` counts as held for the whole dwell already: the first change is not delayed.
        let since = clock.nowNanoseconds.addingSaturating(-dwell)
        state = LockedValue(State(since: since, ruleLevels: Array(repeating: .normal, count: rules.count)))
    }

    /// The level now: one relaxed atomic load.
    public var level: DegradationLevel { DegradationLevel(rawValue: current.load(ordering: .relaxed)) ?? .normal }

    /// The switch of `name`, to keep and read on the hot path.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a feature the controller
    ///   was not given.
    public func feature(_ name: String) throws(BulwarkError) -> FeatureSwitch {
        guard let feature = switches[name] else {
            throw .invalidArgument(field: "name", rule: "must name a feature the controller was given (got \"\(name)\")")
        }
        return feature
    }

    /// Whether `name` is on now; `false` for a feature the controller was not given.
    public func isEnabled(_ name: String) -> Bool {
        switches[name]?.isEnabled ?? false
    }

    /// Reads every rule and moves the level if they ask for another one and the current level
    /// has been held for the minimum dwell.
    public func evaluate() {
        let values = rules.map { $0.signal() }
        let now = clock.nowNanoseconds
        update(at: now) { state in
            for index in rules.indices {
                state.ruleLevels[index] = rules[index].level(from: state.ruleLevels[index], value: values[index])
            }
        }
    }

    /// Holds the service at `level` whatever the rules say, or (`nil`) gives it back to them.
    public func force(_ level: DegradationLevel?) {
        update(at: clock.nowNanoseconds, ignoringDwell: true) { $0.forced = level }
    }

    /// Holds a feature on or off whatever the level, or gives it back to the level.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for an unknown feature.
    public func override(_ name: String, _ override: FeatureOverride) throws(BulwarkError) {
        _ = try feature(name)
        update(at: clock.nowNanoseconds, ignoringDwell: true) { $0.overrides[name] = override == .automatic ? nil : override }
    }

    /// Applies `change`, then moves the level (after the dwell, unless a hand acted) and every
    /// switch to what they should be, and emits an event for each change.
    func update(at now: Int64, ignoringDwell: Bool = false, _ change: (inout State) -> Void) {
        let changes = state.withLock { state -> [ResilienceEvent.Kind] in
            change(&state)
            var changes: [ResilienceEvent.Kind] = []
            let asked = state.forced ?? state.ruleLevels.max() ?? .normal
            if asked != state.level, ignoringDwell || now - state.since >= dwell {
                changes.append(.degradationChanged(from: state.level.description, to: asked.description))
                state.level = asked
                state.since = now
                current.store(asked.rawValue, ordering: .relaxed)
            }
            for name in featureOrder {
                guard let feature = switches[name] else { continue }
                let on = switch state.overrides[name] {
                case .on?: true
                case .off?: false
                default: state.level < feature.offAt
                }
                if feature.enabled.exchange(on, ordering: .relaxed) != on {
                    changes.append(.featureSwitched(feature: name, enabled: on))
                }
            }
            return changes
        }
        for change in changes { events.emit(change) }
    }

    /// The level, since when, what each rule asks for, and every feature's state.
    public func report() -> DegradationReport {
        let now = clock.nowNanoseconds
        return state.withLock { state in
            DegradationReport(
                level: state.level,
                forNanoseconds: max(0, now - state.since),
                forced: state.forced,
                rules: Dictionary(uniqueKeysWithValues: zip(rules.map(\.name), state.ruleLevels)),
                features: Dictionary(uniqueKeysWithValues: featureOrder.compactMap { name in switches[name].map { (name, $0.isEnabled) } })
            )
        }
    }

    /// Evaluates every `evaluationInterval` until cancelled (or, run as `.service` in a
    /// `ServiceGroup` through `BulwarkLifecycle`, until graceful shutdown).
    public func run() async throws {
        await runPeriodically(every: evaluationInterval.saturatingNanoseconds, on: clock) { self.evaluate() }
    }
}

/// A degradation controller's state, for a status endpoint.
public struct DegradationReport: Sendable, Hashable, Codable {
    /// The level now.
    public var level: DegradationLevel
    /// How long it has held, in nanoseconds.
    public var forNanoseconds: Int64
    /// The level a hand forces, if any.
    public var forced: DegradationLevel?
    /// The level each rule asks for.
    public var rules: [String: DegradationLevel]
    /// Whether each feature is on.
    public var features: [String: Bool]
}
