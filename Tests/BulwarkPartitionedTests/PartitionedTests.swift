@testable import BulwarkPartitioned
import BulwarkSlidingWindow
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite("Partitioned limiter", .timeLimit(minutes: 1))
struct PartitionedTests {
    typealias Buckets = PartitionedRateLimiter<String, TokenBucket, ManualClock>

    @Test("each key has its own state; groups override the default")
    func keysAndGroups() throws {
        let clock = ManualClock()
        let limiter = try Buckets(
            configuration: .init(capacity: 2, every: .seconds(60)),
            groups: ["vip": .init(capacity: 5, every: .seconds(60))],
            group: { $0.hasPrefix("vip-") ? "vip" : nil },
            clock: clock
        )
        for _ in 0 ..< 2 { #expect(try limiter.tryAcquire("alice").isAllowed) }
        #expect(try !limiter.tryAcquire("alice").isAllowed)
        #expect(try limiter.tryAcquire("bob").remaining == 1)
        #expect(try limiter.tryAcquire("vip-carol", cost: 5).isAllowed)
        #expect(limiter.partitionCount == 3)
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at most the limit 2 (got 3)")) {
            _ = try limiter.tryAcquire("dave", cost: 3)
        }
        #expect(limiter.partitionCount == 3)  // a refused call creates nothing, and neither does a probe
        #expect(try limiter.tryAcquire("erin", cost: 0).remaining == 2)
        #expect(limiter.partitionCount == 3)
    }

    @Test("a probe creates no partition, even for a bucket that starts below capacity (never fresh)")
    func probeCreatesNothing() throws {
        let clock = ManualClock()
        let limiter = try Buckets(
            configuration: .init(capacity: 4, every: .seconds(60), initialTokens: 0), maximumPartitions: 1, clock: clock
        )
        #expect(try !limiter.tryAcquire("alice").isAllowed)  // a positive cost keeps alice's partition
        #expect(limiter.partitionCount == 1)
        #expect(try limiter.tryAcquire("bob", cost: 0).remaining == 0)
        #expect(limiter.partitionCount == 1 && limiter.forcedEvictionCount == 0)
    }

    @Test("dropping partitions equivalent to fresh changes no decision", arguments: 1 ... 5)
    func evictionChangesNothing(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let clock = ManualClock()
        // 128 partitions at most, 400 keys, about 40 calls a second: only keys whose bucket has
        // refilled (within a second of their last call) can be dropped, and they are.
        let limiter = try Buckets(configuration: .init(capacity: 3, refill: 3, every: .seconds(1)), maximumPartitions: 128, shards: 4, clock: clock)
        var reference: [String: TokenBucket] = [:]
        for _ in 0 ..< 20_000 {
            clock.advance(by: .nanoseconds(Int64.random(in: 0 ... 50_000_000, using: &random)))
            let key = "key-\(Int.random(in: 0 ..< 400, using: &random))"
            let cost = Int.random(in: 0 ... 3, using: &random)
            var bucket = try reference[key] ?? TokenBucket(configuration: .init(capacity: 3, refill: 3, every: .seconds(1)), now: clock.nowNanoseconds)
            let expected = bucket.tryConsume(cost, at: clock.nowNanoseconds)
            reference[key] = bucket
            #expect(try limiter.tryAcquire(key, cost: cost) == expected)
            #expect(limiter.partitionCount <= 128)
        }
        #expect(limiter.forcedEvictionCount == 0)
    }

    @Test("when no partition is fresh, the least recently updated of a sample is dropped and counted")
    func forcedEviction() throws {
        let clock = ManualClock()
        // Windows that never empty within the test: nothing is ever fresh.
        let limiter = try PartitionedRateLimiter<Int, SlidingWindowLog, ManualClock>(
            configuration: .init(limit: 10, window: .seconds(3_600)), maximumPartitions: 100, shards: 1, clock: clock
        )
        for key in 0 ..< 1_000 {
            clock.advance(by: .milliseconds(1))
            _ = try limiter.tryAcquire(key)
        }
        #expect(limiter.partitionCount == 100)
        #expect(limiter.forcedEvictionCount == 900)
        // The most recent keys survived: a sample of 5 drops the oldest it sees.
        #expect(try limiter.tryAcquire(999, cost: 0).remaining == 9)
        #expect(limiter.sweep() == 0)
        clock.advance(by: .seconds(3_600))
        #expect(limiter.sweep() == 100 && limiter.partitionCount == 0)
    }

    @Test("a key's waiters wait in the engine, and the key's state comes back once they are done")
    func waiting() async throws {
        let clock = ManualClock()
        let limiter = try Buckets(configuration: .init(capacity: 1, refill: 1, every: .seconds(1)), clock: clock)
        #expect(try limiter.tryAcquire("a").isAllowed)
        let waiter = Task { try await limiter.acquire("a", options: WaitOptions(deadline: .after(.seconds(5)))) }
        await clock.waitForSleepers(count: 1)
        #expect(try !limiter.tryAcquire("a").isAllowed)        // nobody overtakes the waiter
        #expect(try limiter.tryAcquire("b").isAllowed)          // other keys are not held up
        clock.advance(by: .seconds(1))
        #expect(try await waiter.value.isAllowed)
        await eventually { limiter.waitingPartitionCount == 0 }
        #expect(try limiter.tryAcquire("a", cost: 0).resetAfter == .seconds(1))
        clock.advance(by: .seconds(1))
        #expect(try limiter.tryAcquire("a").isAllowed)           // the state is the partition's again
    }

    @Test("a key in no configured group, a missing partition key and bad configurations are refused by name")
    func errors() async throws {
        let limiter = try Buckets(configuration: .init(capacity: 1, every: .seconds(1)), group: { _ in "gold" }, clock: ManualClock())
        #expect(throws: BulwarkError.invalidArgument(field: "group", rule: "must name a configured group (got \"gold\" for x)")) {
            _ = try limiter.tryAcquire("x")
        }
        await #expect(throws: BulwarkError.invalidArgument(field: "partitionKey", rule: "must be set for a partitioned limiter")) {
            try await limiter.execute(ResilienceContext(operationName: "call")) { _ in 1 }
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "groups[vip].capacity", rule: "must be at least 1 (got 0)")) {
            _ = try Buckets(configuration: .init(capacity: 1, every: .seconds(1)), groups: ["vip": .init(capacity: 0, every: .seconds(1))], clock: ManualClock())
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "shards", rule: "must be a power of two between 1 and 4096 (got 3)")) {
            _ = try Buckets(configuration: .init(capacity: 1, every: .seconds(1)), shards: 3, clock: ManualClock())
        }
    }

    @Test("tasks racing over shared keys take exactly each key's capacity")
    func conservation() async throws {
        let limiter = try Buckets(configuration: .init(capacity: 500, every: .seconds(3_600)), clock: ManualClock())
        let admitted = (0 ..< 10).map { _ in Counter() }
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    for call in 0 ..< 1_000 {
                        let key = (task + call) % 10
                        if (try? limiter.tryAcquire("k\(key)"))?.isAllowed == true { admitted[key].add(1) }
                    }
                }
            }
        }
        for key in 0 ..< 10 {
            #expect(admitted[key].value + (try limiter.tryAcquire("k\(key)", cost: 0).remaining) == 500)
        }
    }
}

@Suite("Partition table")
struct PartitionTableTests {
    @Test("inserts, lookups and removals match a dictionary, through growth and backward shifts", arguments: 1 ... 5)
    func matchesDictionary(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let table = PartitionTable<Int, String>()
        var reference: [Int: String] = [:]
        for step in 0 ..< 20_000 {
            // Few distinct keys, so that runs collide and removals shift entries back.
            let key = Int.random(in: 0 ..< 3_000, using: &random)
            let hash = PartitionTable<Int, String>.hash(of: key)
            if Bool.random(using: &random) {
                if reference[key] == nil {
                    table.insert(key, hash: hash, value: "v\(step)")
                    reference[key] = "v\(step)"
                }
            } else if let slot = table.find(key, hash: hash) {
                #expect(table.value(at: slot).pointee == reference[key])
                table.remove(at: slot)
                reference[key] = nil
            } else {
                #expect(reference[key] == nil)
            }
            #expect(table.count == reference.count)
        }
        for (key, value) in reference {
            let slot = table.find(key, hash: PartitionTable<Int, String>.hash(of: key))
            #expect(slot.map { table.value(at: $0).pointee } == value)
        }
    }
}
