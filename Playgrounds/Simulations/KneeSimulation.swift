// A service whose latency rises with load, for adaptive concurrency limits: the convergence
// trace of the guide, the demo's "adaptive" scenario and the tests.
public import Bulwark
public import BulwarkTestKit

/// A call in flight in the simulation: its permit and the work it still needs.
public final class Held {
    /// The permit, until the call completes.
    public var permit: AdaptivePermit?
    /// The work left, in nanoseconds at full speed.
    public var work: Double

    /// Holds `permit` for a call of `work` nanoseconds at full speed.
    public init(_ permit: consuming AdaptivePermit, work: Double) {
        self.permit = consume permit
        self.work = work
    }
}

/// A service with `knee` parallel slots, processor-shared: up to the knee each call runs at full
/// speed and takes `base`; beyond it the calls share the slots, so with `n` in flight each runs
/// at `knee / n` of full speed and latency grows as `base × n / knee`. Each call's work varies by
/// up to ± `noise` of `base` (seeded). Closed-loop clients (always more than the limit) call
/// through `bulkhead` on the manual clock; returns the limit after every `every` completions.
public func simulate<E: AdaptiveLimit>(
    _ bulkhead: AdaptiveBulkhead<E, ManualClock>, clock: ManualClock, knee: Int, base: Int64, noise: Double = 0.2,
    completions: Int, every: Int = 100
) -> [Int] {
    var held: [Held] = []
    var trace: [Int] = []
    var random: UInt64 = 0x2545_F491_4F6C_DD1D
    func variation() -> Double {
        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(random >> 11) * 0x1p-53 * 2 - 1
    }
    for completed in 0 ..< completions {
        while let permit = try? bulkhead.tryAcquirePermit() {
            held.append(Held(permit, work: Double(base) * (1 + noise * variation())))
        }
        guard let next = held.indices.min(by: { held[$0].work < held[$1].work }) else { break }
        let speed = min(1, Double(knee) / Double(held.count))
        let elapsed = (held[next].work / speed).rounded(.up)
        for call in held { call.work -= elapsed * speed }
        let call = held.remove(at: next)
        clock.advance(by: .nanoseconds(Int64(elapsed)))
        call.permit.take()?.complete(.success)
        if completed % every == every - 1 { trace.append(bulkhead.currentLimit) }
    }
    return trace
}
