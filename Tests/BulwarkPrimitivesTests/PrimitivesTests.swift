import BulwarkPrimitives
import Testing

@Suite("Primitives")
struct PrimitivesTests {
    @Test("SplitMix64 draws Vigna's reference sequence from seed 0")
    func splitMixReferenceVector() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(random.next() == 0x06C4_5D18_8009_454F)
        let unit = random.nextUnit()
        #expect(unit >= 0 && unit < 1)
    }

    @Test("saturating arithmetic clamps at both ends and is exact elsewhere")
    func saturating() {
        #expect(Int64.max.addingSaturating(1) == .max)
        #expect(Int64.min.addingSaturating(-1) == .min)
        #expect(Int64(40).addingSaturating(2) == 42)
        #expect(Int64.min.subtractingSaturating(1) == .min)
        #expect(Int64.max.subtractingSaturating(-1) == .max)
        #expect(Int64(44).subtractingSaturating(2) == 42)
        #expect(Int64.max.multipliedSaturating(by: 2) == .max)
        #expect(Int64.max.multipliedSaturating(by: -2) == .min)
        #expect(Int64(-6).multipliedSaturating(by: -7) == 42)
    }

    @Test("division rounds up or down as named, negatives included")
    func rounding() {
        #expect(Int64(7).dividedRoundingUp(by: 2) == 4)
        #expect(Int64(8).dividedRoundingUp(by: 2) == 4)
        #expect(Int64(-7).dividedRoundingUp(by: 2) == -3)
        #expect(Int64(7).dividedRoundingDown(by: 2) == 3)
        #expect(Int64(-7).dividedRoundingDown(by: 2) == -4)
        #expect(Int64(-8).dividedRoundingDown(by: 2) == -4)
        #expect(greatestCommonDivisor(60_000_000_000, 4_500) == 1_500)
        #expect(greatestCommonDivisor(7, 0) == 7)
    }

    @Test("a locked counter loses no increment under eight contending tasks")
    func lockedValueStress() async {
        let counter = LockedValue(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<20_000 { counter.withLock { $0 += 1 } }
                }
            }
        }
        #expect(counter.withLock { $0 } == 160_000)
    }
}
