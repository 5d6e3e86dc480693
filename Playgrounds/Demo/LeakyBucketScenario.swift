// Scenario "leaky-bucket": twelve callers arrive at once at an upstream that tolerates one request
// every 1.5 s; a shaper with a maximum delay of 10 s releases them on their slots or refuses them at
// once. Then a meter of capacity 10, draining 2 per second, polices bursts of 8 every second.
import Bulwark
import BulwarkTestKit
import BulwarkSimulations

func leakyBucketScenario() async throws {
    struct Release: Sendable { var caller: Int; var releasedAt: Int64?; var retryAfter: Duration? }
    let clock = ManualClock()
    let pacer = try LeakyBucketShaperRateLimiter(rate: 40, per: .seconds(60), maximumDelay: .seconds(10), clock: clock)
    let releases = Log<Release>()
    var launched = 0
    func quiet() -> Bool {
        let waiting = pacer.waitingCount
        return releases.count + waiting == launched && (waiting == 0 || (clock.nextDeadline.map { $0 > clock.now } ?? false))
    }
    await withDiscardingTaskGroup { group in
        for caller in 1 ... 12 {
            group.addTask {
                do {
                    try await pacer.acquire()
                    releases.append(Release(caller: caller, releasedAt: clock.nowNanoseconds))
                } catch BulwarkError.rateLimited(let retryAfter) {
                    releases.append(Release(caller: caller, retryAfter: retryAfter))
                } catch {
                    releases.append(Release(caller: caller))
                }
            }
            launched += 1
            await settle(quiet)
        }
        await drive(clock, step: .milliseconds(100), until: { releases.count == launched }, quiet: quiet)
    }
    print("  shaper: 40 per minute (one release every 1.5 s), maximum delay 10 s; 12 callers at 0:00")
    for release in releases.all.sorted(by: { $0.caller < $1.caller }) {
        if let at = release.releasedAt {
            print("    caller \(padded(release.caller, 2))  released at \(padded(seconds(at), 6))")
        } else if let retryAfter = release.retryAfter {
            print("    caller \(padded(release.caller, 2))  refused at once: its slot is \(seconds(retryAfter.saturatingNanoseconds)) away")
        }
    }

    let meter = try LeakyBucketMeterRateLimiter(capacity: 10, drain: 2, every: .seconds(1), clock: clock)
    let start = clock.now
    print("\n  meter: capacity 10, draining 2 per second; a burst of 8 every second")
    for tick in 0 ..< 6 {
        clock.advance(to: start.advanced(by: .seconds(Int64(tick))))
        var admitted = 0
        for _ in 0 ..< 8 where try meter.tryAcquire().isAllowed { admitted += 1 }
        let level = 10 - (try meter.tryAcquire(cost: 0).remaining)
        print("    second \(tick)  admitted \(admitted) of 8  level after \(padded(level, 2))  " + String(repeating: "#", count: level))
    }
}
