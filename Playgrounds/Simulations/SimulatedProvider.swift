// A model provider as the guard meets it: it enforces its own quotas (requests in any trailing
// minute, calls in flight) and answers 429 past them, takes seconds per call, and fails with 500s
// for a while when an outage is scheduled. Every call is logged for the report.
import Bulwark
import BulwarkTestKit

/// What a simulated provider answers besides a reply.
enum ProviderFailure: Error, CustomStringConvertible, RetryAfterProviding {
    /// 429: a quota of the provider's own was exceeded.
    case rateLimited
    /// 500: the provider is down.
    case serverError

    var description: String { self == .rateLimited ? "429 too many requests" : "500 internal error" }
    /// The provider's `Retry-After` is not honoured by the guard's fallback (another provider
    /// serves); the chain moves on.
    var retryAfter: Duration? { nil }
}

/// One provider's quotas, latency and outages.
struct ProviderProfile: Sendable {
    var name: String
    /// The provider's own concurrency quota, and the guard's bulkhead.
    var maxInFlight: Int
    /// The provider's own requests-per-minute quota, and the guard's; `nil` for none.
    var requestsPerMinute: Int?
    /// Latency of a call, uniform in this range, in milliseconds.
    var latency: ClosedRange<Int64>
    /// Minutes of the run (from, to) during which every call fails with a 500.
    var outage: (from: Int64, to: Int64)?
}

/// How a provider answered a call.
enum Answer: Sendable {
    case reply, rateLimited, serverError
}

/// A provider on the virtual clock.
final class SimulatedProvider: Sendable {
    struct State: Sendable {
        var received: [Int64] = []  // receipt times in the trailing minute
        var inFlight = 0
        var random: SplitMix64
        /// Every call's receipt time and answer.
        var log: [(at: Int64, answer: Answer)] = []
        var busyNanoseconds: Int64 = 0
        var disabledNanoseconds: Int64 = 0
    }

    let profile: ProviderProfile
    let clock: ManualClock
    let state: LockedValue<State>
    /// The network between the guard and the provider, each way, in milliseconds.
    static let network: ClosedRange<Int64> = 20 ... 120

    init(_ profile: ProviderProfile, clock: ManualClock, seed: UInt64) {
        self.profile = profile
        self.clock = clock
        state = LockedValue(State(random: SplitMix64(seed: seed)))
    }

    func isDown(at now: Int64) -> Bool {
        guard let outage = profile.outage else { return false }
        return now >= outage.from * minute && now < outage.to * minute
    }

    /// A chat completion: the request travels, is admitted by the provider's own quotas (or
    /// answered 429), runs, and the answer travels back.
    func chat() async throws -> String {
        let (up, work, down) = state.withLock { state in
            (state.random.milliseconds(in: Self.network), state.random.milliseconds(in: profile.latency),
             state.random.milliseconds(in: Self.network))
        }
        try await clock.sleep(for: .milliseconds(up))
        let now = clock.nowNanoseconds
        let admitted = state.withLock { state -> ProviderFailure? in
            state.received.removeAll { $0 <= now - minute }
            let overQuota = state.received.count >= (profile.requestsPerMinute ?? .max) || state.inFlight >= profile.maxInFlight
            if overQuota {
                state.log.append((now, .rateLimited))
                return .rateLimited
            }
            state.received.append(now)
            if isDown(at: now) {
                state.log.append((now, .serverError))
                return .serverError
            }
            state.log.append((now, .reply))
            state.inFlight += 1
            return nil
        }
        if let admitted {
            try await clock.sleep(for: .milliseconds(down))
            throw admitted
        }
        try await clock.sleep(for: .milliseconds(work))
        state.withLock { state in
            state.inFlight -= 1
            state.busyNanoseconds += work * 1_000_000
        }
        try await clock.sleep(for: .milliseconds(down))
        return "reply from \(profile.name)"
    }

    /// A cheap probe (a models list): fails while the provider is down.
    func probe() throws {
        if isDown(at: clock.nowNanoseconds) { throw ProviderFailure.serverError }
    }
}

let second: Int64 = 1_000_000_000
let minute: Int64 = 60 * second

/// The draws of the simulations, from the package's one seeded generator, so every run prints
/// the same report.
extension SplitMix64 {
    /// Uniform in `range`.
    mutating func milliseconds(in range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// Exponential with mean `mean` nanoseconds (Poisson arrivals).
    mutating func exponential(mean: Double) -> Int64 {
        Int64(-mean * log(1 - nextUnit()))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
