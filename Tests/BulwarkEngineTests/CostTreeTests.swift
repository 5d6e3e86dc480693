import BulwarkCore
import BulwarkEngine
import BulwarkTestSupport
import Testing

@Suite("Cost tree")
struct CostTreeTests {
    @Test("matches a sorted array under random inserts and removals", arguments: [1, 2, 3] as [UInt64])
    func randomAgainstModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var tree = CostTree<Int>()
        var model: [Int: Int] = [:]
        for _ in 0 ..< 5_000 {
            let key = Int(random.next() % 1_000)
            if model[key] == nil, random.next() % 3 != 0 {
                let cost = Int(random.next() % 50)
                tree.insert(key, cost: cost)
                model[key] = cost
            } else {
                #expect(tree.remove(key) == model.removeValue(forKey: key))
            }
            let probe = Int(random.next() % 1_000)
            #expect(tree.costBefore(probe) == model.filter { $0.key < probe }.values.reduce(0, +))
            #expect(tree.first?.key == model.keys.min())
            #expect(tree.last?.key == model.keys.max())
            #expect(tree.count == model.count && tree.totalCost == model.values.reduce(0, +))
        }
        while let first = tree.removeFirst() {
            #expect(model.removeValue(forKey: first.key) == first.cost)
        }
        #expect(model.isEmpty)
    }
}

@Suite("First-in-first-out storage")
struct TicketSequenceTests {
    @Test("removal from anywhere keeps the ends right and compacts its holes")
    func holes() {
        var sequence = TicketSequence()
        for id in 0 ..< 1_000 as Range<UInt64> {
            sequence.append(WaitTicket(id: id, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: 0))
        }
        for id in stride(from: 1, to: 1_000, by: 2) as StrideTo<UInt64> { sequence.remove(id: id) }
        #expect(sequence.count == 500 && sequence.first?.id == 0 && sequence.last?.id == 998)
        sequence.remove(id: 0)
        sequence.remove(id: 998)
        #expect(sequence.first?.id == 2 && sequence.last?.id == 996)
        for id in stride(from: 2, to: 997, by: 2) as StrideTo<UInt64> { #expect(sequence.remove(id: id)?.id == id) }
        #expect(sequence.count == 0 && sequence.first == nil && sequence.last == nil)
        sequence.append(WaitTicket(id: 5_000, cost: 1, priority: .normal, partitionKey: nil, enqueuedAt: 0))
        #expect(sequence.first?.id == 5_000 && sequence.remove(id: 5_000) != nil)
    }
}
