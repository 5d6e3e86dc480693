import BulwarkTokenBucket
import BulwarkPartitioned
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite("Hotspot detector", .timeLimit(minutes: 1))
struct HotspotDetectorTests {
    @Test("above K per second: the key whose rate reaches K is hot, the others are not")
    func perSecond() throws {
        let clock = ManualClock()
        let hotspots = try HotspotDetector<String, ManualClock>(
            configuration: .init(window: .seconds(10), buckets: 10, rule: .init(perSecond: 20, minimumCount: 10)), clock: clock
        )
        for step in 0 ..< 100 {  // 10 s: "search" at 30/s, "login" at 10/s, "health" at 1/s
            if step > 0 { clock.advance(by: .milliseconds(100)) }
            for _ in 0 ..< 3 { hotspots.record("search") }
            hotspots.record("login")
            if step % 10 == 0 { hotspots.record("health") }
        }
        let hot = hotspots.hotKeys()
        #expect(hot.map(\.key) == ["search"])
        #expect(hotspots.isHot("search") && !hotspots.isHot("login"))
        let search = try #require(hot.first)
        #expect(search.count == 300 && search.perSecond == 30)
    }

    @Test("above M times the average key, among 100,000 distinct keys: every hot key found, no cold one")
    func timesAverage() throws {
        let clock = ManualClock()
        let hotspots = try HotspotDetector<Int, ManualClock>(
            configuration: .init(window: .seconds(10), buckets: 10, width: 8192, rule: .init(timesAverage: 50, minimumCount: 10)),
            clock: clock
        )
        let hotKeys = [7, 30_007, 60_007, 99_001, 3]
        for step in 0 ..< 10 {
            if step > 0 { clock.advance(by: .seconds(1)) }
            for key in step * 10_000 ..< (step + 1) * 10_000 { hotspots.record(key) }
            for key in hotKeys { hotspots.record(key, count: 20) }  // 200 over the window: about 200 × the average
        }
        let (total, distinct) = hotspots.traffic()
        #expect(total == 101_000)
        #expect(abs(distinct - 100_000) < 100_000 / 10)  // HyperLogLog within its error
        #expect(Set(hotspots.hotKeys().map(\.key)) == Set(hotKeys))
    }

    @Test("a hot key cools down once its surge leaves the window; every change is an event")
    func coolDown() throws {
        let clock = ManualClock()
        let changes = LockedValue<[String]>([])
        let hotspots = try HotspotDetector<String, ManualClock>(
            configuration: .init(window: .seconds(10), buckets: 10, rule: .init(perSecond: 5, minimumCount: 10)), clock: clock
        ) { key, hot in changes.withLock { $0.append("\(key) \(hot)") } }
        let events = EventRecorder()
        hotspots.events.attach(events)
        for _ in 0 ..< 60 { hotspots.record("burst") }
        #expect(hotspots.hotKeys().map(\.key) == ["burst"])
        for _ in 0 ..< 11 {
            clock.advance(by: .seconds(1))
            hotspots.record("other")  // turns the window
        }
        #expect(!hotspots.isHot("burst") && hotspots.hotKeys().isEmpty)
        #expect(changes.withLock { $0 } == ["burst true", "burst false"])
        #expect(events.kinds == [.hotKeyChanged(key: "burst", hot: true), .hotKeyChanged(key: "burst", hot: false)])
    }

    @Test("at most trackedKeys candidates: a full table keeps the heaviest and says it overflowed")
    func bounded() throws {
        let hotspots = try HotspotDetector<Int, ManualClock>(
            configuration: .init(trackedKeys: 3, rule: .init(perSecond: 1, minimumCount: 1)), clock: ManualClock()
        )
        for key in 0 ..< 10 { hotspots.record(key, count: 10 * (key + 1)) }
        let hot = hotspots.hotKeys()
        #expect(hot.count <= 3)
        #expect(Set(hot.map(\.key)) == [7, 8, 9])  // ten keys reached the threshold: the three heaviest are kept
        #expect(hotspots.overflowed)
        // Ten buckets of four rows of 2,048 four-byte counters, a total, a number, 1,024 registers.
        #expect(hotspots.sketchMemory == 10 * (4 * 2048 * 4 + 8 + 8 + 1024))
    }

    @Test("hot-parameter limiting: a hot key gets its stricter limit, cold keys pass, a cooled key is released")
    func hotParameter() throws {
        let clock = ManualClock()
        let limiter = try HotParameterRateLimiter<String, TokenBucket, ManualClock>(
            detection: .init(window: .seconds(10), buckets: 10, rule: .init(perSecond: 5, minimumCount: 10)),
            hotLimit: .init(capacity: 2, refill: 1, every: .seconds(1)),
            clock: clock
        )
        var allowed = 0
        for _ in 0 ..< 100 where try limiter.tryAcquire("scraper").isAllowed { allowed += 1 }
        #expect(try limiter.tryAcquire("reader") == .cold)
        clock.advance(by: .seconds(1))  // the window turns: "scraper" is judged hot
        allowed = 0
        for _ in 0 ..< 10 where try limiter.tryAcquire("scraper").isAllowed { allowed += 1 }
        #expect(allowed == 2 && limiter.hotLimits.partitionCount == 1)
        #expect(try limiter.tryAcquire("reader").isAllowed)
        for _ in 0 ..< 11 {
            clock.advance(by: .seconds(1))
            _ = try limiter.tryAcquire("reader")
        }
        #expect(!limiter.detector.isHot("scraper") && limiter.hotLimits.partitionCount == 0)
        #expect(try limiter.tryAcquire("scraper") == .cold)
    }

    @Test("many tasks recording at once lose no count")
    func concurrent() async throws {
        let clock = ManualClock()
        // Count-min overestimates by up to e / width of the traffic: e / 16,384 × 80,000 ≈ 13 here,
        // well below the threshold (50 × the average key, about 50), so no cold key reaches it.
        let hotspots = try HotspotDetector<Int, ManualClock>(
            configuration: .init(window: .seconds(10), buckets: 10, width: 16_384, rule: .init(timesAverage: 50)), clock: clock
        )
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 4 {
                group.addTask {
                    for index in 0 ..< 20_000 {
                        hotspots.record(index % 1000 == 0 ? -1 : task * 100_000 + index)
                        if task == 0, index % 5_000 == 0 { clock.advance(by: .seconds(1)) }
                    }
                }
            }
        }
        #expect(hotspots.traffic().total == 80_000)
        #expect(hotspots.hotKeys().map(\.key) == [-1])
    }

    @Test("bad configuration is an error naming the field")
    func validation() {
        let clock = ManualClock()
        func make(_ configuration: HotspotDetector<Int, ManualClock>.Configuration) throws {
            _ = try HotspotDetector<Int, ManualClock>(configuration: configuration, clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "rule", rule: "must give perSecond or timesAverage")) {
            try make(.init(rule: .init()))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "width", rule: "must be a power of two between 16 and 16777216 (got 1000)")) {
            try make(.init(width: 1000, rule: .init(perSecond: 1)))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "depth", rule: "must be between 1 and 16 (got 0)")) {
            try make(.init(depth: 0, rule: .init(perSecond: 1)))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "trackedKeys", rule: "must be at least 1 (got 0)")) {
            try make(.init(trackedKeys: 0, rule: .init(perSecond: 1)))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "trackedKeys", rule: "must be at most 1048576 (got 1048577)")) {
            try make(.init(trackedKeys: (1 << 20) + 1, rule: .init(perSecond: 1)))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "rule.timesAverage", rule: "must be above 1 (got 1.0)")) {
            try make(.init(rule: .init(timesAverage: 1)))
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "rule.perSecond", rule: "must be positive (got -1.0)")) {
            try make(.init(rule: .init(perSecond: -1)))
        }
    }
}
