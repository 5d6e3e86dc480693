public import BulwarkCore
public import BulwarkEngine
public import BulwarkTokenBucket

/// The leaky bucket as a meter (policing): a bucket of `capacity` that drains continuously at
/// `drainAmount` per `drainPeriod`; a request pours in its cost if it fits, or is denied.
///
/// This is the meaning API gateways give the name: the level rises with each request and falls
/// with time, and a request that would overflow is refused at once (it is not delayed; for
/// delaying, see ``LeakyBucketShaper``). It admits exactly what a token bucket of the same capacity
/// and rate admits: the room left in the bucket is the token bucket's tokens. So the arithmetic
/// is `TokenBucket`'s, exact to the nanosecond, and this type speaks in levels.
///
///     var meter = try LeakyBucketMeter(configuration: .init(capacity: 10, drain: 1, every: .seconds(1)),
///                                      now: 0)
///     meter.tryConsume(10, at: 0).isAllowed          // true: the bucket is full
///     meter.tryConsume(1, at: 0).retryAfter          // 1 s: until one unit has drained
///
/// Use it through ``LeakyBucketMeterRateLimiter`` (thread-safe, with a waiting queue).
public struct LeakyBucketMeter: RateLimitAlgorithm, Hashable {
    /// The configuration of a leaky-bucket meter.
    public struct Configuration: Sendable, Hashable {
        /// The most the bucket holds: the largest burst, and the largest cost it admits.
        public var capacity: Int
        /// How much drains per ``drainPeriod``, continuously.
        public var drainAmount: Int
        /// The period over which ``drainAmount`` drains.
        public var drainPeriod: Duration
        /// The level the bucket starts at; `nil` means empty (the full capacity is available).
        public var initialLevel: Int?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - capacity: The most the bucket holds.
        ///   - drainAmount: How much drains per ``drainPeriod``; defaults to `capacity`.
        ///   - drainPeriod: The period over which ``drainAmount`` drains.
        ///   - initialLevel: The starting level; empty when `nil`.
        public init(capacity: Int, drain drainAmount: Int? = nil, every drainPeriod: Duration, initialLevel: Int? = nil) {
            self.capacity = capacity
            self.drainAmount = drainAmount ?? capacity
            self.drainPeriod = drainPeriod
            self.initialLevel = initialLevel
        }
    }

    /// The configuration the meter was created with.
    public let configuration: Configuration

    /// The same bucket counted in free room: tokens = capacity − level.
    @usableFromInline var bucket: TokenBucket

    /// The bucket's capacity: the largest cost it admits.
    public var limit: Int { configuration.capacity }

    /// The room left in the bucket (the token bucket's credit) and the reading it is current at.
    public var state: TokenBucket.State {
        get { bucket.state }
        set { bucket.state = newValue }
    }

    /// The latest clock reading the meter has taken into account.
    public var updatedAt: Int64 { bucket.updatedAt }

    /// Creates a meter at its initial level at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `capacity` or
    ///   `drainAmount` is below 1, `drainPeriod` is not a positive whole number of nanoseconds,
    ///   `initialLevel` is outside `0 ... capacity`, or `capacity × drainPeriod / drainAmount` (in
    ///   lowest terms) exceeds 2.3 × 10¹⁸.
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.atLeast(1, configuration.capacity, field: "capacity")
        _ = try Validation.atLeast(1, configuration.drainAmount, field: "drainAmount")
        _ = try Validation.positiveNanoseconds(configuration.drainPeriod, field: "drainPeriod")
        let level = configuration.initialLevel ?? 0
        guard (0 ... configuration.capacity).contains(level) else {
            throw .invalidConfiguration(
                field: "initialLevel",
                rule: "must be between 0 and capacity \(configuration.capacity) (got \(level))"
            )
        }
        self.configuration = configuration
        self.bucket = try TokenBucket(
            configuration: .init(
                capacity: configuration.capacity, refill: configuration.drainAmount,
                every: configuration.drainPeriod, initialTokens: configuration.capacity - level
            ),
            now: now
        )
    }

    /// Pours `cost` in at `now` if it fits; `remaining` is the room left, `resetAfter` the time
    /// until the bucket is empty.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        bucket.tryConsume(cost, at: now)
    }

    /// Drains `amount` out again: exactly as if the admission had poured that much less.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        bucket.refund(amount, admittedAt: admittedAt, at: now)
    }

    /// Pours `amount` in even if it overflows, up to twice the capacity: debt drained first.
    public mutating func charge(_ amount: Int, at now: Int64) {
        bucket.charge(amount, at: now)
    }

    /// Nanoseconds from `now` until `amount` more fits.
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        bucket.nanosecondsUntilAvailable(amount, at: now)
    }

    /// The figures at `now` without pouring anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        bucket.snapshot(at: now, retryAfterNanoseconds: retryAfterNanoseconds)
    }

    /// A meter at its initial level at `now`.
    public func freshState(at now: Int64) -> TokenBucket.State {
        bucket.freshState(at: now)
    }

    /// Whether the bucket is empty and a fresh one would be empty too.
    public func isFresh(at now: Int64) -> Bool {
        bucket.isFresh(at: now)
    }

    /// The whole units in the bucket at `now`, rounded up (a bucket with any fraction left in it is
    /// not empty), at most the capacity (debt beyond it is not shown).
    public func level(at now: Int64) -> Int {
        configuration.capacity - bucket.tokens(at: now)
    }
}

/// A thread-safe leaky-bucket meter with a waiting queue: ``LeakyBucketMeter`` run by
/// `InMemoryRateLimiter`.
///
///     let limiter = try LeakyBucketMeterRateLimiter(capacity: 100, drain: 10, every: .seconds(1))
///     let decision = try limiter.tryAcquire(cost: 5)
public typealias LeakyBucketMeterRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<LeakyBucketMeter, C>

extension InMemoryRateLimiter where Algorithm == LeakyBucketMeter {
    /// Creates a leaky-bucket meter on `clock`.
    ///
    /// - Parameters:
    ///   - capacity: The most the bucket holds: the largest burst and the largest cost.
    ///   - drainAmount: How much drains per `drainPeriod`, continuously; defaults to `capacity`.
    ///   - drainPeriod: The period over which `drainAmount` drains.
    ///   - initialLevel: The starting level; empty when `nil`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        capacity: Int,
        drain drainAmount: Int? = nil,
        every drainPeriod: Duration,
        initialLevel: Int? = nil,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: .init(capacity: capacity, drain: drainAmount, every: drainPeriod, initialLevel: initialLevel),
            queueLimit: queueLimit, order: order, clock: clock
        )
    }
}

