@testable import BulwarkGateway
import Testing

/// Provider header sync reads the wait a provider announces the way OpenAI writes it.
@Suite struct UpstreamCooldownsTests {
    @Test("Go durations as in x-ratelimit-reset-*, at most an hour", arguments: [
        ("20ms", 20_000_000), ("1s", 1_000_000_000), ("6m0s", 360_000_000_000), ("1.5s", 1_500_000_000),
        ("2m3.5s", 123_500_000_000), ("1h0m0s", 3_600_000_000_000), ("1h2m", 3_600_000_000_000), ("350µs", 350_000), ("7ns", 7), ("0s", 0),
    ] as [(String, Int64)])
    func goDurations(_ text: String, _ nanoseconds: Int64) {
        #expect(UpstreamCooldowns.goDuration(text) == nanoseconds)
    }

    @Test("not a Go duration", arguments: ["", "5", "s", "1x", "1.2.3s"])
    func notGoDurations(_ text: String) {
        #expect(UpstreamCooldowns.goDuration(text) == nil)
    }

    @Test("the wait: retry-after-ms, then retry-after, then the reset of a dimension at 0, else a second for a bare 429")
    func waits() {
        #expect(UpstreamCooldowns.wait(status: 429, headers: [("Retry-After-Ms", "1500"), ("retry-after", "9")]) == 1_500_000_000)
        #expect(UpstreamCooldowns.wait(status: 429, headers: [("retry-after", "9")]) == 9_000_000_000)
        #expect(UpstreamCooldowns.wait(status: 429, headers: []) == 1_000_000_000)
        #expect(UpstreamCooldowns.wait(status: 503, headers: [("retry-after", "2")]) == 2_000_000_000)
        #expect(UpstreamCooldowns.wait(status: 200, headers: [("retry-after", "2")]) == nil, "a served reply's retry-after says nothing")
        #expect(UpstreamCooldowns.wait(status: 200, headers: [("x-ratelimit-remaining-requests", "1"), ("x-ratelimit-reset-requests", "5s")]) == nil)
        #expect(UpstreamCooldowns.wait(status: 200, headers: [
            ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "5s"),
            ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "6m0s"),
        ]) == 360_000_000_000, "the longer of the two resets")
        #expect(UpstreamCooldowns.wait(status: 429, headers: [("retry-after", "99999")]) == UpstreamCooldowns.longest, "at most an hour")
    }

    @Test("a cooldown kept in this process counts down; an upstream that said nothing may be called")
    func local() {
        let cooldowns = UpstreamCooldowns(redis: nil, key: "", interval: .seconds(1))
        #expect(cooldowns.observe("a", status: 429, headers: [("retry-after-ms", "60000")]) == 60_000_000_000)
        #expect(cooldowns.observe("b", status: 200, headers: []) == 0)
        #expect((59_000_000_000 ... 60_000_000_000).contains(cooldowns.remaining("a")))
        #expect(cooldowns.remaining("b") == 0)
        // A shorter wait does not cut a longer one.
        cooldowns.observe("a", status: 429, headers: [("retry-after-ms", "10")])
        #expect(cooldowns.remaining("a") > 59_000_000_000)
    }
}

/// The prompt counter's cache: exact, and bounded.
@Suite struct CountCacheTests {
    @Test("a text seen again is not counted again; short texts are always counted; two generations bound it")
    func cache() {
        let cache = CountCache(bytes: 1_000)
        var counted = 0
        func count(_ text: String) -> Int {
            cache.count(text) { counted += 1; return $0.utf8.count }
        }
        let long = String(repeating: "a", count: 400)
        #expect(count(long) == 400 && count(long) == 400 && counted == 1)
        #expect(count("short") == 5 && count("short") == 5 && counted == 3, "under 64 bytes: counted each time")
        let other = String(repeating: "b", count: 400)
        let third = String(repeating: "c", count: 400)
        _ = count(other)
        _ = count(third)  // the first generation is full: `long` and `other` move to the previous one
        #expect(counted == 5)
        _ = count(long)  // found in the previous generation, moved back
        #expect(counted == 5)
        _ = count(String(repeating: "d", count: 400))
        _ = count(String(repeating: "e", count: 400))  // `other` was in the generation dropped now
        _ = count(other)
        #expect(counted == 8)
        #expect(count(String(repeating: "x", count: 2_000)) == 2_000, "a text above a generation is counted, not kept")
    }
}
