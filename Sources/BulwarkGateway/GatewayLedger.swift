import BulwarkBudget
import BulwarkChain
import BulwarkCore
import BulwarkEngine
import BulwarkHummingbird
import BulwarkRedis
import BulwarkRedisClient
import BulwarkSlidingWindow
import Foundation

/// The three things a request is counted in.
public enum GatewayDimension: Int, Sendable, CaseIterable {
    /// One per request.
    case requests
    /// The prompt's tokens.
    case inputTokens
    /// The completion's tokens.
    case outputTokens

    /// `rpm`, `input_tpm`, `output_tpm`: the configuration's names.
    public var field: String { ["rpm", "input_tpm", "output_tpm"][rawValue] }
}

/// The gateway's accounting: every limit that applies to a request (the key's, the key's for the
/// model, the group's), each a segmented sliding minute, reserved all-or-nothing on arrival and
/// settled after the reply; in this process (a `TokenBudget`) or in Redis (a `RedisTokenBudget`,
/// one script call each way).
///
/// **The window.** Every limit counts the last minute (`window_seconds`) in 5-second segments (a
/// twelfth of it): a request is admitted when the current segment plus the 12 whole segments
/// before it, plus the request, stay within the limit. The window is thus 13 segments (60 to 65 s)
/// wide, so that no span of 60 s ever holds more than the limit (a window of 12 segments would
/// allow twice the limit within 55 s across a segment boundary). A count leaves the window whole,
/// 65 s after its segment began.
final class GatewayLedger: Sendable {
    /// One limit of one request: the scope it belongs to and its figure.
    struct Limit: Sendable {
        /// `key:alice:rpm`, `key:alice:model:gpt-4o:input_tpm`, `group:free:output_tpm`.
        let name: String
        let dimension: GatewayDimension
        let limit: Int
    }

    /// The limits of one key for one model, and where they are kept.
    struct Plan: Sendable {
        let limits: [Limit]
        let store: Store
    }

    enum Store: Sendable {
        case none
        case memory(TokenBudget<ContinuousClock>, [SegmentedWindowRateLimiter<ContinuousClock>])
        case redis(RedisTokenBudget)
    }

    /// A request's answer: admitted, or which limit refused and for how long; what each limit has
    /// left.
    struct Decision: Sendable {
        let isAllowed: Bool
        let deniedBy: Int?
        let retryAfterNanoseconds: Int64
        /// Per limit of the plan, after the reservation; `nil` when Redis could not say (fail open).
        let remaining: [Int]?
    }

    /// A reservation to settle exactly once, with the request's use (requests, input tokens,
    /// output tokens) and whether it succeeded (the group quotas count successes); dropped
    /// unsettled, it stands at its estimate.
    final class Ticket: Sendable {
        let settle: @Sendable (_ actual: [Int], _ succeeded: Bool) async -> Void
        init(settle: @escaping @Sendable (_ actual: [Int], _ succeeded: Bool) async -> Void) { self.settle = settle }
    }

    /// The segments a window counts: the current one and the 12 before it.
    static let segments = 13
    /// A segment: a twelfth of the configured window (5 s of a minute).
    let segment: Int64
    /// The 13 segments.
    let window: Duration

    private let configuration: GatewayConfiguration
    private let redis: RedisClient?
    private let limiters: [String: SegmentedWindowRateLimiter<ContinuousClock>]
    private let plans = LockedPlans()

    init(configuration: GatewayConfiguration, redis: RedisClient?) throws(BulwarkError) {
        self.configuration = configuration
        self.redis = redis
        let segment = Int64(configuration.windowSeconds) * 1_000_000_000 / 12
        self.segment = segment
        let window = Duration.nanoseconds(segment * Int64(Self.segments))
        self.window = window
        var limiters: [String: SegmentedWindowRateLimiter<ContinuousClock>] = [:]
        if redis == nil {
            let clock = ContinuousClock()
            for limit in Self.allLimits(configuration) where limiters[limit.name] == nil {
                limiters[limit.name] = try SegmentedWindowRateLimiter(
                    configuration: .init(limit: limit.limit, window: window, segments: Self.segments, epochNanoseconds: 0), clock: clock
                )
            }
        }
        self.limiters = limiters
    }

    /// Every limit the configuration names, over all keys and models.
    private static func allLimits(_ configuration: GatewayConfiguration) -> [Limit] {
        configuration.keys.flatMap { key in configuration.models.keys.flatMap { limits(of: key, model: $0, configuration) } }
    }

    /// The limits of `key` for `model`: the key's, then the key's for the model, then its group's.
    static func limits(of key: GatewayConfiguration.Key, model: String, _ configuration: GatewayConfiguration) -> [Limit] {
        let scopes: [(String, GatewayConfiguration.Limits?)] = [
            ("key:\(key.id)", key.limits), ("key:\(key.id):model:\(model)", key.models?[model]),
            ("group:\(key.group ?? "")", key.group.flatMap { configuration.groups[$0] }),
        ]
        return scopes.flatMap { scope, limits in
            GatewayDimension.allCases.compactMap { dimension in
                (limits?.figures[dimension.rawValue]).flatMap { $0 }.map { Limit(name: "\(scope):\(dimension.field)", dimension: dimension, limit: $0) }
            }
        }
    }

    /// The plan of `key` for `model`, made once.
    func plan(for key: GatewayConfiguration.Key, model: String) throws(BulwarkError) -> Plan {
        if let plan = plans.value(key.id, model) { return plan }
        let limits = Self.limits(of: key, model: model, configuration)
        let store: Store
        if limits.isEmpty {
            store = .none
        } else if let redis, let settings = configuration.redis {
            let links = try limits.map { limit throws(BulwarkError) in
                RedisLink(
                    limit.name, key: settings.key(tag: limit.name),
                    limit: try .segmentedWindow(limit: limit.limit, window: window, segments: Self.segments)
                )
            }
            store = .redis(try RedisTokenBudget(
                client: redis, dimensions: links, reservations: settings.key("reservations:", tag: "key:\(key.id)", ":\(model)"),
                reservationTimeout: .seconds(900), failurePolicy: settings.failure == "open" ? .failOpen : .failClosed,
                timeout: .milliseconds(settings.timeoutMs)
            ))
        } else {
            let windows = limits.map { limiters[$0.name]! }
            let budget = try TokenBudget(dimensions: zip(limits, windows).map { .limiter($0.name, $1) }, reservationTimeout: .seconds(900))
            store = .memory(budget, windows)
        }
        let plan = Plan(limits: limits, store: store)
        plans.store(plan, key.id, model)
        return plan
    }

    /// Reserves `estimate` (requests, input tokens, output tokens) in every limit of `plan`, or in
    /// none; never waits.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when the estimate is above a limit
    ///   (it could never be admitted); `BulwarkError/dependencyFailed(dependency:reason:)` when
    ///   Redis cannot answer and the failure policy is `closed`.
    func reserve(_ plan: Plan, estimate: [Int]) async throws -> (Decision, Ticket?) {
        let costs = plan.limits.map { estimate[$0.dimension.rawValue] }
        for (limit, cost) in zip(plan.limits, costs) where cost > limit.limit {
            throw BulwarkError.invalidArgument(
                field: limit.dimension == .requests ? "requests" : limit.dimension == .inputTokens ? "messages" : "max_tokens",
                rule: "the request needs \(cost) \(limit.dimension == .requests ? "requests" : "tokens") of \(limit.name), whose limit is \(limit.limit) per minute"
            )
        }
        switch plan.store {
        case .none:
            return (Decision(isAllowed: true, deniedBy: nil, retryAfterNanoseconds: 0, remaining: []), nil)
        case .memory(let budget, let windows):
            let reservation = try budget.tryReserve(try Costs(costs))
            let remaining = windows.map { (try? $0.tryAcquire(cost: 0).remaining) ?? 0 }
            guard reservation.isReserved else {
                let chain = reservation.decision
                return (Decision(isAllowed: false, deniedBy: chain.linkIndex, retryAfterNanoseconds: chain.retryAfterNanoseconds, remaining: remaining), nil)
            }
            let holder = PermitHolder(reservation, abandoned: nil) { (reservation: consuming BudgetReservation<ContinuousClock>, actual: [Int]?) in
                if let actual, let costs = try? Costs(actual) { _ = try? reservation.settle(costs) }
            }
            let ticket = Ticket { actual, _ in holder.release(plan.limits.map { actual[$0.dimension.rawValue] }) }
            return (Decision(isAllowed: true, deniedBy: nil, retryAfterNanoseconds: 0, remaining: remaining), ticket)
        case .redis(let budget):
            let reservation = try await budget.reserve(estimate: costs)
            let decision = reservation.decision
            let known = decision.source == .redis ? decision.remaining : nil
            guard decision.isAllowed else {
                let index = plan.limits.firstIndex { $0.name == decision.deniedBy }
                return (Decision(isAllowed: false, deniedBy: index, retryAfterNanoseconds: decision.retryAfter.saturatingNanoseconds, remaining: known), nil)
            }
            let ticket = Ticket { actual, _ in
                let figures = plan.limits.map { min(actual[$0.dimension.rawValue], RedisTokenBudget.maximumActual) }
                _ = try? await budget.settle(reservation, actual: figures)
            }
            return (Decision(isAllowed: true, deniedBy: nil, retryAfterNanoseconds: 0, remaining: known), ticket)
        }
    }

    /// How long until a limit that counted something in the current segment is whole again: when
    /// that segment leaves the window, 65 s after it began.
    func resetNanoseconds() -> Int64 {
        let now: Int64
        if redis == nil {
            now = ContinuousClock().nowNanoseconds
        } else {
            now = Int64(Date().timeIntervalSince1970 * 1e9)
        }
        return Int64(Self.segments) * segment - now % segment
    }
}

/// The plans made so far, by key and model.
private final class LockedPlans: Sendable {
    private let plans = LockedValue<[String: GatewayLedger.Plan]>([:])

    func value(_ key: String, _ model: String) -> GatewayLedger.Plan? {
        plans.withLock { $0[key + "\u{0}" + model] }
    }

    func store(_ plan: GatewayLedger.Plan, _ key: String, _ model: String) {
        plans.withLock { $0[key + "\u{0}" + model] = plan }
    }
}
