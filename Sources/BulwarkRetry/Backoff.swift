import BulwarkCore

/// How long a retry policy waits before each retry, before the maximum delay caps it.
///
/// Delays are computed in integer nanoseconds. `retry` counts the retries from 1 (the wait before
/// the second attempt is retry 1).
///
///     configuration.backoff = .exponential(initial: .milliseconds(200), multiplier: 2, jitter: .full)
public enum Backoff: Sendable, Hashable {
    /// The same delay before every retry.
    case constant(Duration, jitter: Jitter = .none)
    /// `initial`, then `initial + increment`, `initial + 2 × increment`, …
    case linear(initial: Duration, increment: Duration, jitter: Jitter = .none)
    /// `initial`, then `⌊initial × multiplier⌋`, then that × multiplier, truncated, …
    /// (`multiplier` in 1 ... 1000).
    case exponential(initial: Duration, multiplier: Double = 2, jitter: Jitter = .none)
    /// AWS's decorrelated jitter: each delay is `min(maximum, uniform(base ... 3 × previous))`
    /// (the first previous delay being `base`): drawn first, capped after, so once `3 × previous`
    /// passes the maximum delay, every draw above it lands on the maximum. Spreads a herd of
    /// clients apart while still backing off.
    case decorrelatedJitter(base: Duration)

    /// How a computed delay is randomised.
    public enum Jitter: Sendable, Hashable {
        /// Not at all.
        case none
        /// Drawn uniformly from `0 ... delay` (AWS's "full jitter").
        case full
        /// Drawn uniformly from `delay − ⌊delay × fraction⌋ ... delay + ⌊delay × fraction⌋`, at
        /// most the maximum delay, `fraction` in 0 ... 1 (Polly's ±25 % is 0.25).
        case proportional(Double)
    }

    /// The delay in nanoseconds before retry `retry` (from 1), given the previous delay (for
    /// decorrelated jitter), capped at `maximum`, drawing from `random` when jittered.
    ///
    /// Integer arithmetic throughout: linear is `initial + increment × (retry − 1)` (saturating);
    /// exponential is `d₁ = initial`, `dₖ₊₁ = ⌊dₖ × multiplier⌋`, each step exact (the multiplier
    /// taken at its exact binary value, the product in 128 bits), truncated at every step as
    /// Resilience4j's exponential interval function truncates. `Tests/Vectors/backoff.json` pins
    /// both.
    @usableFromInline
    package func nanoseconds(beforeRetry retry: Int, previous: Int64, maximum: Int64, random: RandomSource) -> Int64 {
        let delay: Int64
        let jitter: Jitter
        switch self {
        case .constant(let constant, let j):
            delay = min(maximum, constant.saturatingNanoseconds)
            jitter = j
        case .linear(let initial, let increment, let j):
            let (steps, overflow) = increment.saturatingNanoseconds.multipliedReportingOverflow(by: Int64(retry - 1))
            delay = min(maximum, overflow ? .max : initial.saturatingNanoseconds.addingSaturating(steps))
            jitter = j
        case .exponential(let initial, let multiplier, let j):
            delay = Self.exponential(initial.saturatingNanoseconds, multiplier, retry, cap: maximum)
            jitter = j
        case .decorrelatedJitter(let base):
            // AWS's formula: draw, then cap, so once 3 × previous passes the cap the cap takes
            // the mass of everything drawn above it.
            let low = base.saturatingNanoseconds
            let (tripled, overflow) = max(previous, low).multipliedReportingOverflow(by: 3)
            return min(maximum, random.uniform(low ... (overflow ? .max : tripled)))
        }
        switch jitter {
        case .none:
            return delay
        case .full:
            return random.uniform(0 ... delay)
        case .proportional(let fraction):
            let spread = Int64(Double(delay) * fraction)
            return min(maximum, random.uniform(max(0, delay - spread) ... delay.addingSaturating(spread)))
        }
    }

    /// `⌊…⌊⌊initial × m⌋ × m⌋ …⌋` (`retry − 1` times), at most `cap`: the multiplier is
    /// `significand / 2^shift` exactly, so each step is a 128-bit product and a shift.
    private static func exponential(_ initial: Int64, _ multiplier: Double, _ retry: Int, cap: Int64) -> Int64 {
        let shift = 52 - Int(multiplier.exponent)
        let significand = UInt128(multiplier.significandBitPattern | (1 << 52))
        var delay = initial
        for _ in 1 ..< max(1, retry) where delay < cap {
            let product = (UInt128(delay) * significand) >> shift
            delay = product > UInt128(Int64.max) ? .max : Int64(product)
        }
        return min(delay, cap)
    }

    /// Checks the delays and jitter; throws naming `backoff` and the rule broken.
    func validate() throws(BulwarkError) {
        func invalid(_ rule: String) -> BulwarkError { .invalidConfiguration(field: "backoff", rule: rule) }
        var jitter = Jitter.none
        switch self {
        case .constant(let delay, let j):
            guard delay >= .zero else { throw invalid("delay must be at least 0 (got \(delay))") }
            jitter = j
        case .linear(let initial, let increment, let j):
            guard initial >= .zero, increment >= .zero else { throw invalid("initial and increment must be at least 0") }
            jitter = j
        case .exponential(let initial, let multiplier, let j):
            guard initial >= .zero else { throw invalid("initial must be at least 0 (got \(initial))") }
            guard multiplier >= 1, multiplier <= 1000 else { throw invalid("multiplier must be in 1 ... 1000 (got \(multiplier))") }
            jitter = j
        case .decorrelatedJitter(let base):
            guard base > .zero else { throw invalid("base must be longer than 0 (got \(base))") }
        }
        if case .proportional(let fraction) = jitter, !(fraction >= 0 && fraction <= 1) {
            throw invalid("jitter fraction must be in 0 ... 1 (got \(fraction))")
        }
    }
}

/// Where jittered delays draw their randomness: the system's generator, or a seeded one that
/// makes every delay of a test reproducible.
///
///     configuration.random = .seeded(42)
public struct RandomSource: Sendable {
    private let next: @Sendable () -> UInt64

    /// A source drawing from `next`.
    public init(_ next: @escaping @Sendable () -> UInt64) {
        self.next = next
    }

    /// The system's cryptographically secure generator.
    public static var system: RandomSource {
        RandomSource {
            var generator = SystemRandomNumberGenerator()
            return generator.next()
        }
    }

    /// A deterministic generator (SplitMix64) started from `seed`.
    public static func seeded(_ seed: UInt64) -> RandomSource {
        let generator = LockedValue(SplitMix64(seed: seed))
        return RandomSource { generator.withLock { $0.next() } }
    }

    /// A number drawn uniformly from `range`.
    func uniform(_ range: ClosedRange<Int64>) -> Int64 {
        let width = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        if width == .max { return Int64(bitPattern: next()) }
        var generator = Generator(draw: next)
        return range.lowerBound &+ Int64(bitPattern: UInt64.random(in: 0 ... width, using: &generator))
    }

    private struct Generator: RandomNumberGenerator {
        let draw: @Sendable () -> UInt64
        mutating func next() -> UInt64 { draw() }
    }
}

