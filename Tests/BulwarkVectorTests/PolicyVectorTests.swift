import Bulwark
import BulwarkTestKit
import Foundation
import Testing

/// `Tests/Vectors/circuit-breaker.json` and `backoff.json`, written by an independent Python
/// model, run through the public `CircuitBreaker` on a manual clock and through `Backoff`.
@Suite("Policy test vectors")
struct PolicyVectorTests {
    struct BreakerStep: Decodable, Sendable {
        var op: String
        var at: Int64
        var permitted: Bool?
        var permit: String?
        var retryAfter: Int64?
        var outcome: String?
        var state: String?
        var to: String?
    }

    struct BreakerCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var config: JSONValue
        var steps: [BreakerStep]
        var testDescription: String { name }
    }

    struct BackoffCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var config: JSONValue
        var delays: [Int64]
        var testDescription: String { name }
    }

    struct File<Case: Decodable>: Decodable {
        var cases: [Case]
    }

    static func load<Case: Decodable>(_ name: String) -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/\(name).json")
        do {
            return try JSONDecoder().decode(File<Case>.self, from: Data(contentsOf: url)).cases
        } catch {
            fatalError("cannot read the test vectors at \(url.path): \(error)")
        }
    }

    static let states: [String: CircuitState] = [
        "closed": .closed, "open": .open, "half-open": .halfOpen, "forced-open": .forcedOpen,
        "disabled": .disabled, "metrics-only": .metricsOnly,
    ]

    static func configuration(_ c: JSONValue) -> CircuitBreakerConfiguration {
        var configuration = CircuitBreakerConfiguration(
            failureRateThreshold: c["failureRateThreshold"].optionalDouble, minimumCalls: c["minimumCalls"].int
        )
        let window = c["window"]
        configuration.window = window["type"].string == "count"
            ? .count(window["size"].int)
            : .time(bucket: .nanoseconds(window["bucketNanoseconds"].int64), bucketCount: window["bucketCount"].int)
        configuration.slowCallRateThreshold = c["slowCallRateThreshold"].optionalDouble
        configuration.slowCallDuration = .nanoseconds(c["slowCallNanoseconds"].int64)
        configuration.consecutiveFailureThreshold = c["consecutiveFailureThreshold"].optionalInt
        let open = c["openDuration"]
        configuration.openDuration = open["type"].string == "fixed"
            ? .fixed(.nanoseconds(open["nanoseconds"].int64))
            : .exponential(
                initial: .nanoseconds(open["initial"].int64), multiplier: open["multiplier"].int,
                maximum: .nanoseconds(open["maximum"].int64)
            )
        configuration.halfOpenProbes = c["halfOpenProbes"].int
        configuration.maximumHalfOpenDuration = c["maximumHalfOpenNanoseconds"].optionalInt64.map { .nanoseconds($0) }
        return configuration
    }

    /// A permit held until the trace records it.
    final class Held {
        var permit: CircuitPermit?
        init(_ permit: consuming CircuitPermit) { self.permit = consume permit }
    }

    @Test("circuit breaker", arguments: load("circuit-breaker") as [BreakerCase])
    func circuitBreaker(_ vector: BreakerCase) throws {
        let configuration = Self.configuration(vector.config)
        // A count window with no slow-call threshold reads no clock for a closed call: it must
        // give the same answers as one that does.
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: configuration, clock: clock)
        var held: [String: Held] = [:]
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            let label = "step \(index) (\(step.op) at \(step.at))"
            switch step.op {
            case "acquire":
                do {
                    let permit = try breaker.tryAcquirePermit()
                    #expect(step.permitted == true, "\(label): permitted, expected refused")
                    if let name = step.permit { held[name] = Held(permit) }
                } catch {
                    #expect(step.permitted == false, "\(label): refused, expected permitted")
                    #expect(error == .circuitOpen(retryAfter: step.retryAfter.map { .nanoseconds($0) }), "\(label)")
                }
            case "record":
                let outcomes: [String: CallOutcome] = ["success": .success, "failure": .failure, "ignored": .ignored]
                guard let name = step.permit, let box = held.removeValue(forKey: name), let permit = box.permit.take(),
                      let outcome = outcomes[step.outcome ?? ""] else {
                    Issue.record("\(label): no such permit or outcome")
                    continue
                }
                breaker.record(permit, outcome)
            case "state":
                #expect(breaker.state == Self.states[step.state ?? ""], "\(label)")
            case "transition":
                breaker.transition(to: Self.states[step.to ?? ""] ?? .closed)
            case "reset":
                breaker.reset()
            default:
                Issue.record("\(label): unknown operation")
            }
        }
    }

    @Test("backoff", arguments: load("backoff") as [BackoffCase])
    func backoff(_ vector: BackoffCase) {
        let c = vector.config
        let backoff: Backoff = switch c["type"].string {
        case "constant": .constant(.nanoseconds(c["delay"].int64))
        case "linear": .linear(initial: .nanoseconds(c["initial"].int64), increment: .nanoseconds(c["increment"].int64))
        default: .exponential(initial: .nanoseconds(c["initial"].int64), multiplier: c["multiplier"].optionalDouble ?? 0)
        }
        let delays = (1 ... vector.delays.count).map { retry in
            backoff.nanoseconds(beforeRetry: retry, previous: 0, maximum: c["maximumDelay"].int64, random: .seeded(0))
        }
        #expect(delays == vector.delays)
    }

    @Test("both files hold enough cases")
    func filesAreLoaded() {
        let breaker: [BreakerCase] = Self.load("circuit-breaker")
        let backoff: [BackoffCase] = Self.load("backoff")
        #expect(breaker.count >= 50 && breaker.map(\.steps.count).reduce(0, +) >= 6_000)
        #expect(backoff.count >= 15)
    }
}
