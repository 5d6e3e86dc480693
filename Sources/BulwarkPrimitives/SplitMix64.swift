/// Sebastiano Vigna's SplitMix64: a small, seedable generator for jitter, sampling and
/// simulations that replay exactly, and its finaliser as a 64-bit mixer.
///
/// Not for anything that must be unpredictable. Every seeded sequence in the package (retry
/// jitter, eviction sampling, Vegas' probe jitter, the hotspot sketch's row multipliers, test
/// traces, the demo's traffic) is this one, so a seed means the same thing everywhere.
@usableFromInline
package struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The state: the seed, advanced by the golden gamma on each draw.
    @usableFromInline package var state: UInt64

    /// A generator whose first draw is `mix(seed + γ)`.
    @inlinable
    package init(seed: UInt64) {
        state = seed
    }

    /// The next 64 bits.
    @inlinable
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A double in `0 ..< 1` (the top 53 bits of a draw).
    @inlinable
    package mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// The finaliser alone: 64 well-spread bits from any 64 (a bijection).
    @inlinable
    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
