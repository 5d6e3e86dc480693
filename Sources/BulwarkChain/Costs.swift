public import BulwarkCore

/// Up to eight costs, one per link of a chain or dimension of a budget, stored inline: building,
/// passing and reading them allocates nothing.
///
///     let estimate: Costs = [1, promptTokens, maxOutputTokens]   // requests, input, output
///     estimate[1]                                                 // promptTokens
public struct Costs: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The most costs a value holds.
    public static let capacity = 8

    @usableFromInline var storage: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// How many costs there are.
    public let count: Int

    /// The same `cost` for each of ``count`` links (at most ``capacity``).
    @inlinable
    public init(repeating cost: Int, count: Int) {
        precondition(count >= 0 && count <= Costs.capacity, "Costs holds 0 to 8 values")
        self.count = count
        for index in 0 ..< count { self[index] = cost }
    }

    /// The costs in `elements` (at most ``capacity``).
    @inlinable
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count <= Costs.capacity, "Costs holds 0 to 8 values")
        count = elements.count
        for (index, element) in elements.enumerated() { self[index] = element }
    }

    /// The costs of `values`.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when there are more than
    ///   ``capacity`` of them.
    public init(_ values: some Sequence<Int>) throws(BulwarkError) {
        let array = Array(values)
        guard array.count <= Costs.capacity else {
            throw .invalidArgument(field: "costs", rule: "must hold at most \(Costs.capacity) values (got \(array.count))")
        }
        count = array.count
        for (index, element) in array.enumerated() { self[index] = element }
    }

    /// 0.
    public var startIndex: Int { 0 }
    /// ``count``.
    public var endIndex: Int { count }

    /// The cost at `index`.
    @inlinable
    public subscript(index: Int) -> Int {
        get {
            precondition(index >= 0 && index < count, "index out of range")
            return Self.element(index, of: storage)
        }
        set {
            precondition(index >= 0 && index < Costs.capacity, "index out of range")
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: index &* MemoryLayout<Int>.stride, as: Int.self) }
        }
    }

    /// Whether both hold the same costs in the same order.
    /// Element `index` of an inline tuple, read where the tuple is: `withUnsafeBytes(of:)` would
    /// copy all eight values to the stack on every read whenever the optimiser cannot prove that
    /// a call in between leaves them alone (a chain's links are such calls), which made reading the
    /// costs a fifth of a chain's decision.
    @inlinable @inline(__always)
    static func element(_ index: Int, of storage: (Int, Int, Int, Int, Int, Int, Int, Int)) -> Int {
        switch index {
        case 0: storage.0
        case 1: storage.1
        case 2: storage.2
        case 3: storage.3
        case 4: storage.4
        case 5: storage.5
        case 6: storage.6
        default: storage.7
        }
    }

    public static func == (lhs: Costs, rhs: Costs) -> Bool {
        lhs.elementsEqual(rhs)
    }

    /// Hashes the costs.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for cost in self { hasher.combine(cost) }
    }

    /// `[1, 1200, 4000]`.
    public var description: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}
