import BulwarkCore
import BulwarkFixedWindow
import BulwarkSlidingWindow
import Testing

// Regression tests for defects found by independent checks (issue 18, items 4 to 8): each failed
// on the code before its fix.

@Suite struct TimeGridRegressionTests {
    /// Before: an epoch 292 years or more away saturated `time − epoch` and every answer was wrong.
    @Test func anEpochBeyondTheHorizonIsRefusedNamingTheField() {
        // 2^62 ns is about 146 years; each epoch below is further than that from its reading.
        for (epoch, now) in [(Int64.min + 1, Int64(1) << 61), (Int64.max, -(Int64(1) << 61)), (-(Int64(1) << 62), Int64(1) << 61)] {
            // The reading itself is within 2^62 ns of zero: only the epoch is refused.
            let refusal = BulwarkError.invalidConfiguration(
                field: "epochNanoseconds",
                rule: "must be within 2^62 ns (about 146 years) of the clock's reading \(now) (got \(epoch))"
            )
            #expect(throws: refusal) { _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1), epochNanoseconds: epoch), now: now) }
            #expect(throws: refusal) {
                _ = try SlidingWindowCounter(configuration: .init(limit: 1, window: .seconds(1), epochNanoseconds: epoch), now: now)
            }
            #expect(throws: refusal) {
                _ = try SegmentedWindow(configuration: .init(limit: 1, window: .seconds(1), segments: 2, epochNanoseconds: epoch), now: now)
            }
        }
    }

    /// Before: a reading near `Int64.max` saturated the window's end, so the window never ended.
    @Test func aClockReadingNearTheEndOfTimeIsRefused() {
        #expect {
            _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1)), now: .max - 10)
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "clock"
        }
        #expect(throws: Never.self) { _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1)), now: 1 << 62) }
    }
}
