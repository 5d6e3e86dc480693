public import BulwarkCore

/// A cap on retries relative to traffic, so that retries cannot multiply the load on a failing
/// dependency: over the last ``ttl``, retries (and hedges) may be at most ``ratio`` of the calls
/// made, plus ``minimumPerSecond`` per second of ttl for quiet periods.
///
/// It is Finagle's retry budget: every call deposits, every retry withdraws, and both age out of
/// a window of ten slices of the ttl. A refused withdrawal takes nothing. One budget is usually
/// shared by every retry and hedging policy that calls the same dependency.
///
///     let budget = try RetryBudget(ratio: 0.2, minimumPerSecond: 10, ttl: .seconds(10))
///     retryConfiguration.budget = budget
///     hedgingConfiguration.budget = budget
///
/// Arithmetic is in integers: a call deposits `ratio × 1,000,000` units (rounded down), a retry
/// withdraws 1,000,000, and the reserve is `⌊minimumPerSecond × ttl in seconds⌋` retries.
public final class RetryBudget: Sendable {
    /// The share of calls that may be retried.
    public let ratio: Double
    /// Retries allowed per second of ttl whatever the traffic.
    public let minimumPerSecond: Int
    /// How long a call's deposit and a retry's withdrawal count.
    public let ttl: Duration

    static let unit: Int64 = 1_000_000
    private static let slices = 10
    private let deposit: Int64
    private let reserve: Int64
    private let sliceNanoseconds: Int64
    private let now: @Sendable () -> Int64
    private let state: LockedValue<Window>

    private struct Window {
        var slices: [Int64]
        var sum: Int64 = 0
        var head = 0
        var headIndex: Int64
    }

    /// Creates a budget on `clock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when ``ratio`` is not in
    ///   0 ... 1000, ``minimumPerSecond`` is not in 0 ... 1,000,000 or its reserve over the ttl
    ///   exceeds 10⁹ retries, or ``ttl`` is not between 10 ns and a year.
    public init<C: NanosecondClock>(
        ratio: Double = 0.2, minimumPerSecond: Int = 10, ttl: Duration = .seconds(10), clock: C
    ) throws(BulwarkError) {
        guard ratio >= 0, ratio <= 1000 else {
            throw .invalidConfiguration(field: "ratio", rule: "must be in 0 ... 1000 (got \(ratio))")
        }
        guard minimumPerSecond >= 0, minimumPerSecond <= 1_000_000 else {
            throw .invalidConfiguration(field: "minimumPerSecond", rule: "must be in 0 ... 1000000 (got \(minimumPerSecond))")
        }
        guard ttl >= .nanoseconds(10), ttl <= .seconds(31_536_000) else {
            throw .invalidConfiguration(field: "ttl", rule: "must be between 10 ns and a year (got \(ttl))")
        }
        let ttlNanoseconds = ttl.saturatingNanoseconds
        // The reserve, in retries, must stay an exact count of units.
        let reserveRetries = Int64(clamping: Int128(minimumPerSecond) * Int128(ttlNanoseconds) / 1_000_000_000)
        guard reserveRetries <= 1_000_000_000 else {
            throw .invalidConfiguration(
                field: "minimumPerSecond",
                rule: "× ttl in seconds must be at most 1000000000 retries (got \(reserveRetries))"
            )
        }
        self.ratio = ratio
        self.minimumPerSecond = minimumPerSecond
        self.ttl = ttl
        deposit = Int64(ratio * Double(Self.unit))
        reserve = reserveRetries * Self.unit
        sliceNanoseconds = ttlNanoseconds / Int64(Self.slices)
        now = { clock.nowNanoseconds }
        let start = clock.nowNanoseconds / (ttlNanoseconds / Int64(Self.slices))
        state = LockedValue(Window(slices: Array(repeating: 0, count: Self.slices), headIndex: start))
    }

    /// Creates a budget on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` as the clock-taking one does.
    public convenience init(ratio: Double = 0.2, minimumPerSecond: Int = 10, ttl: Duration = .seconds(10)) throws(BulwarkError) {
        try self.init(ratio: ratio, minimumPerSecond: minimumPerSecond, ttl: ttl, clock: ContinuousClock())
    }

    /// Counts one call (not a retry): it earns ``ratio`` of a retry for the next ttl.
    public func recordCall() {
        guard deposit > 0 else { return }
        let time = now()
        state.withLock { window in add(deposit, to: &window, at: time) }
    }

    /// Takes one retry if the budget has one; a refusal takes nothing.
    public func tryWithdraw() -> Bool {
        let time = now()
        return state.withLock { window in
            advance(&window, to: time)
            guard reserve + window.sum >= Self.unit else { return false }
            add(-Self.unit, to: &window, at: time)
            return true
        }
    }

    /// How many retries the budget would allow now.
    public var available: Int {
        let time = now()
        return state.withLock { window in
            advance(&window, to: time)
            return Int(max(0, reserve + window.sum) / Self.unit)
        }
    }

    private func add(_ amount: Int64, to window: inout Window, at time: Int64) {
        advance(&window, to: time)
        window.slices[window.head] += amount
        window.sum += amount
    }

    /// Moves the window to `time`, clearing the slices that aged out.
    private func advance(_ window: inout Window, to time: Int64) {
        let index = time / sliceNanoseconds
        guard index > window.headIndex else { return }
        for _ in 0 ..< min(index - window.headIndex, Int64(Self.slices)) {
            window.head = window.head + 1 == Self.slices ? 0 : window.head + 1
            window.sum -= window.slices[window.head]
            window.slices[window.head] = 0
        }
        window.headIndex = index
    }
}
