/// The recent calls a circuit breaker judges, with their totals kept up to date on every record:
/// O(1) per call, whatever the window's size.
///
/// A count window is a ring of the last `size` calls, one entry each. A time window is a ring of
/// buckets, each holding the totals of the calls whose clock reading fell in it; moving to a new
/// bucket clears the buckets passed over (at most `size` of them, once each), so a record costs
/// O(1) amortised.
struct CallWindow: Sendable {
    /// Calls, failures and slow calls: a bucket's, or the window's.
    struct Totals: Sendable, Hashable {
        var calls = 0
        var failures = 0
        var slowCalls = 0

        mutating func add(_ other: Totals) {
            calls += other.calls
            failures += other.failures
            slowCalls += other.slowCalls
        }

        mutating func subtract(_ other: Totals) {
            calls -= other.calls
            failures -= other.failures
            slowCalls -= other.slowCalls
        }
    }

    /// The window's totals.
    private(set) var totals = Totals()
    private var buckets: [Totals]
    /// Count window: the next entry to write. Time window: the bucket of `headIndex`.
    private var head = 0
    /// Count window: how many entries hold a call. Time window: unused.
    private var filled = 0
    /// Time window: the index (reading / bucket length) of the newest bucket.
    private var headIndex: Int64
    private let bucketNanoseconds: Int64?

    /// An empty window of `size` calls (`bucketNanoseconds == nil`) or `size` buckets, at `now`.
    init(size: Int, bucketNanoseconds: Int64?, now: Int64) {
        buckets = Array(repeating: Totals(), count: size)
        self.bucketNanoseconds = bucketNanoseconds
        headIndex = bucketNanoseconds.map { Self.index(of: now, bucket: $0) } ?? 0
    }

    /// Records one call at `now`.
    mutating func record(failure: Bool, slow: Bool, at now: Int64) {
        let call = Totals(calls: 1, failures: failure ? 1 : 0, slowCalls: slow ? 1 : 0)
        if bucketNanoseconds == nil {
            if filled == buckets.count {
                totals.subtract(buckets[head])
            } else {
                filled += 1
            }
            buckets[head] = call
            head = head + 1 == buckets.count ? 0 : head + 1
        } else {
            advance(to: now)
            buckets[head].add(call)
        }
        totals.add(call)
    }

    /// Moves a time window to `now`, clearing the buckets that fell out of it; a count window
    /// does not move with time.
    mutating func advance(to now: Int64) {
        guard let bucketNanoseconds else { return }
        let index = Self.index(of: now, bucket: bucketNanoseconds)
        guard index > headIndex else { return }  // time never goes back
        let steps = min(index - headIndex, Int64(buckets.count))
        for _ in 0 ..< steps {
            head = head + 1 == buckets.count ? 0 : head + 1
            totals.subtract(buckets[head])
            buckets[head] = Totals()
        }
        headIndex = index
    }

    /// The bucket index of a reading: floor division, so buckets align to multiples of the
    /// bucket length on the clock.
    private static func index(of now: Int64, bucket: Int64) -> Int64 {
        let (quotient, remainder) = now.quotientAndRemainder(dividingBy: bucket)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
