import Bulwark
import BulwarkTestKit
import Testing

/// A link of a chain or budget vector: the named algorithm, configured from the file, on `clock`.
func link(_ json: JSONValue, clock: ManualClock) throws -> (RateLimitChain<ManualClock>.Link, probe: () throws -> Int) {
    func make<A: VectorSubject>(_ type: A.Type) throws -> (RateLimitChain<ManualClock>.Link, probe: () throws -> Int) {
        let limiter = try InMemoryRateLimiter<A, ManualClock>(configuration: A.configuration(json["config"]), clock: clock)
        return (.limiter(json["name"].string, limiter), { try limiter.tryAcquire(cost: 0).remaining })
    }
    switch json["algorithm"].string {
    case TokenBucket.vectorFile: return try make(TokenBucket.self)
    case LeakyBucketMeter.vectorFile: return try make(LeakyBucketMeter.self)
    case LeakyBucketShaper.vectorFile: return try make(LeakyBucketShaper.self)
    case GCRA.vectorFile: return try make(GCRA.self)
    case FixedWindow.vectorFile: return try make(FixedWindow.self)
    case SlidingWindowLog.vectorFile: return try make(SlidingWindowLog.self)
    case SlidingWindowCounter.vectorFile: return try make(SlidingWindowCounter.self)
    case SegmentedWindow.vectorFile: return try make(SegmentedWindow.self)
    case ConcurrencyLimit.vectorFile: return try make(ConcurrencyLimit.self)
    case let other: fatalError("unknown algorithm \(other)")
    }
}

/// Holds a reservation between the steps that make and settle it (a reservation cannot be copied).
final class Held {
    var reservation: BudgetReservation<ManualClock>?
    init(_ reservation: consuming BudgetReservation<ManualClock>) { self.reservation = consume reservation }
}

@Suite("Chain and budget test vectors")
struct CompositeVectorTests {
    @Test("chains", arguments: VectorFile.cases(of: "chain"))
    func chain(_ vector: VectorFile.Case) throws {
        let clock = ManualClock()
        let links = try vector.config["links"].array.map { try link($0, clock: clock) }
        let chain = try RateLimitChain(links.map(\.0), clock: clock)
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            let costs = try Costs(step.costs ?? Array(repeating: step.cost ?? 0, count: links.count))
            let decision = try chain.tryAcquire(costs: costs)
            let remaining = try links.map { try $0.probe() }
            expect(decision, remaining: remaining, step, index)
        }
    }

    @Test("budgets", arguments: VectorFile.cases(of: "budget"))
    func budget(_ vector: VectorFile.Case) throws {
        let clock = ManualClock()
        let dimensions = try vector.config["dimensions"].array.map { try link($0, clock: clock) }
        let budget = try TokenBudget(
            dimensions: dimensions.map(\.0),
            reservationTimeout: .nanoseconds(vector.config["reservationTimeoutNanoseconds"].int64), clock: clock
        )
        var held: [String: Held] = [:]
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            let id = step.id.map { "\($0)" } ?? ""
            switch step.operation {
            case "reserve":
                let estimate = try Costs(step.estimate ?? [])
                if let dimension = step.error {
                    let error = #expect(throws: BulwarkError.self, "step \(index)") { _ = try budget.tryReserve(estimate) }
                    guard case .invalidArgument(let field, let rule)? = error else {
                        Issue.record("step \(index): wrong error \(String(describing: error))")
                        continue
                    }
                    #expect(field == "cost[\(dimension)]", "step \(index): \(rule)")
                    // The rule names the refused estimate of that dimension (the limit comes from its algorithm).
                    let names = vector.config["dimensions"].array.map { $0["name"].string }
                    guard let position = names.firstIndex(of: dimension), let cost = step.estimate?[position] else {
                        Issue.record("step \(index): no estimate for dimension \(dimension) in \(names)")
                        continue
                    }
                    if cost < 0 {
                        #expect(rule == "must be at least 0 (got \(cost))", "step \(index)")
                    } else {
                        #expect(rule.hasPrefix("must be at most the limit ") && rule.hasSuffix(" (got \(cost))"), "step \(index): \(rule)")
                    }
                    continue
                }
                let reservation = try budget.tryReserve(estimate)
                let decision = reservation.decision
                expect(decision, remaining: try dimensions.map { try $0.probe() }, step, index)
                if decision.isAllowed { held[id] = Held(reservation) }
            case "settle":
                guard let reservation = held[id]?.reservation.take() else {
                    Issue.record("step \(index): reservation \(id) is not held")
                    continue
                }
                let settlement = try reservation.settle(try Costs(step.actual ?? []))
                #expect((settlement == .expired) == (step.expired ?? false), "step \(index) at \(step.at): \(settlement)")
                let remaining = try dimensions.map { try $0.probe() }
                #expect(remaining == step.remaining?.array.map(\.int), "step \(index) at \(step.at)")
            default:
                Issue.record("unknown operation \(step.operation)")
            }
        }
    }

    private func expect(_ decision: ChainDecision, remaining: [Int], _ step: VectorFile.Step, _ index: Int) {
        let expected = "allowed=\(step.allowed ?? false) deniedBy=\(step.deniedBy ?? "nil") retryAfter=\(step.retryAfter ?? -1) "
            + "remaining=\(step.remaining?.array.map(\.int) ?? [])"
        let actual = "allowed=\(decision.isAllowed) deniedBy=\(decision.deniedBy ?? "nil") retryAfter=\(decision.retryAfterNanoseconds) "
            + "remaining=\(remaining)"
        #expect(actual == expected, "step \(index) at \(step.at)")
    }
}
