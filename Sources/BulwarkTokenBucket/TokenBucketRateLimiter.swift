public import BulwarkCore
public import BulwarkEngine

/// A thread-safe token-bucket rate limiter with a waiting queue: ``TokenBucket`` run by
/// `InMemoryRateLimiter`.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))
///     let decision = try limiter.tryAcquire()
///     try await limiter.acquire(cost: 1, deadline: .after(.seconds(10)))
public typealias TokenBucketRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<TokenBucket, C>

extension InMemoryRateLimiter where Algorithm == TokenBucket {
    /// Creates a token-bucket limiter on `clock`.
    ///
    /// - Parameters:
    ///   - capacity: The most tokens the bucket holds: the largest burst and the largest cost.
    ///   - refillAmount: Tokens added per `refillPeriod`, continuously; defaults to `capacity`.
    ///   - refillPeriod: The period over which `refillAmount` tokens are added.
    ///   - initialTokens: The starting tokens; full when `nil`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        capacity: Int,
        refill refillAmount: Int? = nil,
        every refillPeriod: Duration,
        initialTokens: Int? = nil,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: TokenBucket.Configuration(
                capacity: capacity, refill: refillAmount, every: refillPeriod, initialTokens: initialTokens
            ),
            queueLimit: queueLimit,
            order: order,
            clock: clock
        )
    }
}

