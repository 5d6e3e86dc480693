// Scenario "budget": three API keys on three plans, each with requests, input tokens and output
// tokens per minute (segmented windows of 12 × 5 s, the LLM-gateway form). Each call reserves its
// prompt plus its maximum output, all three or none; when it finishes (2 to 10 s later) it settles
// with what it really produced, giving the unused output back. The report shows each dimension's
// use, per key, every 30 s.
import Bulwark
import BulwarkTestKit
import BulwarkSimulations

/// A reservation kept until its call finishes (a reservation cannot be copied, so it is boxed).
final class Pending {
    let settleAt: Int64
    let usage: Costs
    var reservation: BudgetReservation<ManualClock>?
    init(settleAt: Int64, usage: Costs, reservation: consuming BudgetReservation<ManualClock>) {
        self.settleAt = settleAt
        self.usage = usage
        self.reservation = consume reservation
    }
}

func budgetScenario() async throws {
    struct Plan { var name: String; var requests: Int; var input: Int; var output: Int; var everyTicks: Int; var prompt: ClosedRange<Int>; var maxOutput: Int }
    let plans = [
        Plan(name: "free", requests: 10, input: 20_000, output: 4_000, everyTicks: 8, prompt: 200 ... 2_000, maxOutput: 1_000),
        Plan(name: "pro", requests: 60, input: 150_000, output: 30_000, everyTicks: 2, prompt: 500 ... 5_000, maxOutput: 2_000),
        Plan(name: "team", requests: 120, input: 400_000, output: 80_000, everyTicks: 1, prompt: 500 ... 8_000, maxOutput: 4_000),
    ]
    let clock = ManualClock()
    func dimension(_ limit: (Plan) -> Int) throws -> PartitionedRateLimiter<String, SegmentedWindow, ManualClock> {
        func window(_ plan: Plan) -> SegmentedWindow.Configuration { .init(limit: limit(plan), window: .seconds(60), segments: 12) }
        return try PartitionedRateLimiter(
            configuration: window(plans[0]),
            groups: Dictionary(uniqueKeysWithValues: plans.dropFirst().map { ($0.name, window($0)) }),
            group: { key in plans.dropFirst().first { "key-\($0.name)" == key }?.name },
            clock: clock
        )
    }
    let requests = try dimension(\.requests), input = try dimension(\.input), output = try dimension(\.output)
    let budget = try TokenBudget(dimensions: [
        .partitioned("requests", requests) { $0.partitionKey },
        .partitioned("inputTokens", input) { $0.partitionKey },
        .partitioned("outputTokens", output) { $0.partitionKey },
    ], clock: clock)

    var random = SplitMix64(seed: 2026)
    var pending: [Pending] = []
    var sent: [String: Int] = [:], reserved: [String: Int] = [:], refused: [String: [String: Int]] = [:]
    var reservedOutput = 0, usedOutput = 0
    print("  plans: free 10 req / 20k in / 4k out per minute; pro 60 / 150k / 30k; team 120 / 400k / 80k")
    print("  each dimension's use at the end of each 30 s (used/limit), calls sent, reserved, refused by dimension\n")
    for tick in 1 ... 360 {  // three minutes in 500 ms steps
        clock.advance(to: NanosecondInstant(nanoseconds: Int64(tick) * 500_000_000))
        let now = clock.nowNanoseconds
        for call in pending where call.settleAt <= now {
            if let reservation = call.reservation.take() { _ = try reservation.settle(call.usage) }
        }
        pending.removeAll { $0.reservation == nil }
        for plan in plans where tick % plan.everyTicks == 0 {
            let key = "key-\(plan.name)"
            let prompt = Int.random(in: plan.prompt, using: &random)
            let produced = Int.random(in: 50 ... plan.maxOutput, using: &random)
            sent[key, default: 0] += 1
            let reservation = try budget.tryReserve([1, prompt, plan.maxOutput], context: ResilienceContext(operationName: "chat", partitionKey: key))
            if reservation.isReserved {
                reserved[key, default: 0] += 1
                reservedOutput += plan.maxOutput
                usedOutput += produced
                let settleAt = now + Int64.random(in: 2 ... 10, using: &random) * second
                pending.append(Pending(settleAt: settleAt, usage: [1, prompt, produced], reservation: reservation))
            } else {
                refused[key, default: [:]][reservation.decision.link, default: 0] += 1
            }
        }
        guard tick % 60 == 0 else { continue }
        for plan in plans {
            let key = "key-\(plan.name)"
            func used(_ limiter: PartitionedRateLimiter<String, SegmentedWindow, ManualClock>, _ limit: Int) throws -> String {
                "\(padded(limit - (try limiter.tryAcquire(key, cost: 0).remaining), 7))/\(limit)"
            }
            let refusals = refused[key, default: [:]].sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("    \(clockTime(now))  \(leftAligned(plan.name, 4))  requests \(try used(requests, plan.requests))"
                + "  input \(try used(input, plan.input))  output \(try used(output, plan.output))"
                + "   sent \(padded(sent[key, default: 0], 3)) reserved \(padded(reserved[key, default: 0], 3))"
                + (refusals.isEmpty ? "" : "  refused: \(refusals)"))
        }
    }
    print("\n  output tokens reserved \(reservedOutput), really produced \(usedOutput): "
        + "settlement gave back \(reservedOutput - usedOutput) (\((reservedOutput - usedOutput) * 100 / max(1, reservedOutput)) %)")
}
