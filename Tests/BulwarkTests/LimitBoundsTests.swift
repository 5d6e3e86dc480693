import Bulwark
import Testing

/// Counts above `Int64.max / 8` would overflow a limit plus its debt: refused by name.
@Suite("Limits too large for exact arithmetic")
struct LimitBoundsTests {
    static let bound = Int(Int64.max / 8)
    static let error = BulwarkError.invalidConfiguration(field: "limit", rule: "must be at most \(bound) (got \(bound + 1))")

    @Test("every window and the concurrency limit refuse a limit above Int64.max / 8, naming the field")
    func limitsAboveTheBound() throws {
        let tooLarge = Self.bound + 1
        #expect(throws: Self.error) { try FixedWindow(configuration: .init(limit: tooLarge, window: .seconds(1)), now: 0) }
        #expect(throws: Self.error) { try SlidingWindowLog(configuration: .init(limit: tooLarge, window: .seconds(1)), now: 0) }
        #expect(throws: Self.error) { try SlidingWindowCounter(configuration: .init(limit: tooLarge, window: .nanoseconds(1)), now: 0) }
        #expect(throws: Self.error) {
            try SegmentedWindow(configuration: .init(limit: tooLarge, window: .seconds(1), segments: 1), now: 0)
        }
        #expect(throws: Self.error) { try ConcurrencyLimit(configuration: .init(limit: tooLarge), now: 0) }
        // The bound itself is accepted, and a cost of the whole limit plus a charge stays exact.
        var window = try FixedWindow(configuration: .init(limit: Self.bound, window: .seconds(1)), now: 0)
        #expect(window.tryConsume(Self.bound, at: 0).isAllowed)
        window.charge(Int.max, at: 0)
        #expect(!window.tryConsume(1, at: 0).isAllowed)
    }
}
