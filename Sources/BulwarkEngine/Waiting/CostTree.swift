import BulwarkCore

/// How a `OrderedCostTree` orders its keys: a strict weak order in which no two keys of the
/// tree are equivalent.
///
/// An ordering is a value kept once per tree, not per key, so a rule with parameters (the priority
/// order's ageing) costs its keys nothing.
@usableFromInline
package protocol CostTreeOrdering<Key>: Sendable {
    /// The keys ordered.
    associatedtype Key: Sendable
    /// Whether `a` comes before `b`.
    func precedes(_ a: Key, _ b: Key) -> Bool
}

/// The natural order of comparable keys, smallest first.
@usableFromInline
package struct Ascending<Key: Comparable & Sendable>: CostTreeOrdering {
    /// The ordering.
    @inlinable
    package init() {}
    /// `a < b`.
    @inlinable
    package func precedes(_ a: Key, _ b: Key) -> Bool { a < b }
}

/// A `OrderedCostTree` of comparable keys, smallest first.
@usableFromInline
package typealias CostTree<Key: Comparable & Sendable> = OrderedCostTree<Ascending<Key>>

/// An ordered set of unique keys, each with a cost, that answers "the smallest key" and "the total
/// cost of the keys before this one" in O(log n).
///
/// It is the one ordered structure behind every queue: the waiting room's deadlines, the priority
/// and deadline orders (whose predicted wait is the cost queued before a newcomer), the fair
/// order's partitions and the job queues' eviction order. A treap (a binary search tree balanced by
/// random heap priorities) kept in one array of nodes with a free list, so once it has grown to its
/// largest size it allocates nothing; every operation takes O(log n) expected time.
///
/// A node holds its key, its cost, its subtree's cost and two child numbers: nothing more. Its heap
/// priority is a hash of its place in the array under a seed drawn per tree, fixed while the node
/// is in the tree and independent of the keys, so no sequence of keys can unbalance it.
@usableFromInline
package struct OrderedCostTree<Ordering: CostTreeOrdering>: Sendable {
    /// The keys held.
    @usableFromInline
    package typealias Key = Ordering.Key

    @usableFromInline
    struct Node: Sendable {
        @usableFromInline var key: Key
        @usableFromInline var cost: Int
        /// The cost of this node's subtree.
        @usableFromInline var sum: Int
        @usableFromInline var left: Int32
        @usableFromInline var right: Int32

        @inlinable
        init(key: Key, cost: Int, sum: Int, left: Int32, right: Int32) {
            (self.key, self.cost, self.sum, self.left, self.right) = (key, cost, sum, left, right)
        }
    }

    /// How keys are ordered.
    @usableFromInline let ordering: Ordering
    @usableFromInline var nodes: [Node] = []
    @usableFromInline var free: [Int32] = []
    @usableFromInline var root: Int32 = -1
    /// The seed of the heap priorities, drawn per tree so no sequence of keys can be chosen
    /// against it.
    @usableFromInline var seed = UInt64.random(in: 1 ... .max)
    /// How many keys the tree holds.
    @usableFromInline package private(set) var count = 0

    /// Creates an empty tree ordered by `ordering`.
    @inlinable
    package init(ordering: Ordering) {
        self.ordering = ordering
    }

    /// Creates an empty tree of comparable keys, smallest first.
    @inlinable
    package init<Element: Comparable & Sendable>() where Ordering == Ascending<Element> {
        self.init(ordering: Ascending())
    }

    /// The total cost of every key.
    @inlinable
    package var totalCost: Int { root < 0 ? 0 : nodes[Int(root)].sum }

    /// The smallest key and its cost.
    @inlinable
    package var first: (key: Key, cost: Int)? {
        var index = root
        guard index >= 0 else { return nil }
        while nodes[Int(index)].left >= 0 { index = nodes[Int(index)].left }
        return (nodes[Int(index)].key, nodes[Int(index)].cost)
    }

    /// The largest key and its cost.
    @inlinable
    package var last: (key: Key, cost: Int)? {
        var index = root
        guard index >= 0 else { return nil }
        while nodes[Int(index)].right >= 0 { index = nodes[Int(index)].right }
        return (nodes[Int(index)].key, nodes[Int(index)].cost)
    }

    /// The total cost of the keys strictly smaller than `key`.
    @inlinable
    package func costBefore(_ key: Key) -> Int {
        var total = 0
        var index = root
        while index >= 0 {
            let node = nodes[Int(index)]
            if ordering.precedes(node.key, key) {
                total += node.cost + (node.left >= 0 ? nodes[Int(node.left)].sum : 0)
                index = node.right
            } else {
                index = node.left
            }
        }
        return total
    }

    /// Whether the tree holds `key`.
    @inlinable
    package func contains(_ key: Key) -> Bool {
        var index = root
        while index >= 0 {
            let node = nodes[Int(index)]
            if ordering.precedes(key, node.key) {
                index = node.left
            } else if ordering.precedes(node.key, key) {
                index = node.right
            } else {
                return true
            }
        }
        return false
    }

    /// Adds `key` with `cost`; the key must not be in the tree already.
    @inlinable
    package mutating func insert(_ key: Key, cost: Int) {
        let node = Node(key: key, cost: cost, sum: cost, left: -1, right: -1)
        let index: Int32
        if let reused = free.popLast() {
            index = reused
            nodes[Int(index)] = node
        } else {
            index = Int32(nodes.count)
            nodes.append(node)
        }
        let (left, right) = split(root, before: key)
        root = merge(merge(left, index), right)
        count += 1
    }

    /// Removes `key`; returns its cost, or `nil` when it was not there.
    @inlinable
    @discardableResult
    package mutating func remove(_ key: Key) -> Int? {
        guard contains(key) else { return nil }
        // Walk down to the key, taking its cost out of every subtree on the way, then put its
        // children in its place.
        var parent: Int32 = -1
        var index = root
        var cost = 0
        while true {
            let node = nodes[Int(index)]
            let before = ordering.precedes(key, node.key)
            if !before && !ordering.precedes(node.key, key) {
                cost = node.cost
                break
            }
            parent = index
            index = before ? node.left : node.right
        }
        var walk = root
        while walk != index {
            nodes[Int(walk)].sum -= cost
            walk = ordering.precedes(key, nodes[Int(walk)].key) ? nodes[Int(walk)].left : nodes[Int(walk)].right
        }
        let replacement = merge(nodes[Int(index)].left, nodes[Int(index)].right)
        if parent < 0 {
            root = replacement
        } else if nodes[Int(parent)].left == index {
            nodes[Int(parent)].left = replacement
        } else {
            nodes[Int(parent)].right = replacement
        }
        free.append(index)
        count -= 1
        if count == 0 { removeAll() }
        return cost
    }

    /// Removes and returns the smallest key, if any.
    @inlinable
    package mutating func removeFirst() -> (key: Key, cost: Int)? {
        guard let first else { return nil }
        remove(first.key)
        return first
    }

    /// The nodes the tree has room for; zero once a large tree has emptied.
    @inlinable
    package var reservedCapacity: Int { nodes.capacity }

    /// Removes every key. A small tree keeps its storage (so a queue that fills and empties one
    /// ticket at a time allocates nothing); a large one gives it back.
    @inlinable
    package mutating func removeAll() {
        let keep = nodes.capacity <= 64
        nodes.removeAll(keepingCapacity: keep)
        free.removeAll(keepingCapacity: keep)
        root = -1
        count = 0
    }

    /// Splits the subtree at `index` into the keys before `key` and the rest.
    @inlinable
    mutating func split(_ index: Int32, before key: Key) -> (Int32, Int32) {
        guard index >= 0 else { return (-1, -1) }
        let i = Int(index)
        if ordering.precedes(nodes[i].key, key) {
            let (left, right) = split(nodes[i].right, before: key)
            nodes[i].right = left
            update(i)
            return (index, right)
        } else {
            let (left, right) = split(nodes[i].left, before: key)
            nodes[i].left = right
            update(i)
            return (left, index)
        }
    }

    /// Joins two subtrees whose keys are all smaller on the left.
    @inlinable
    mutating func merge(_ left: Int32, _ right: Int32) -> Int32 {
        if left < 0 { return right }
        if right < 0 { return left }
        if heapPriority(left) > heapPriority(right) {
            let merged = merge(nodes[Int(left)].right, right)
            nodes[Int(left)].right = merged
            update(Int(left))
            return left
        } else {
            let merged = merge(left, nodes[Int(right)].left)
            nodes[Int(right)].left = merged
            update(Int(right))
            return right
        }
    }

    /// The heap priority of the node at `index`: a hash of its place (SplitMix64's finaliser).
    @inlinable
    func heapPriority(_ index: Int32) -> UInt64 {
        var z = seed &+ UInt64(UInt32(bitPattern: index)) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    mutating func update(_ i: Int) {
        let left = nodes[i].left
        let right = nodes[i].right
        nodes[i].sum = nodes[i].cost + (left >= 0 ? nodes[Int(left)].sum : 0) + (right >= 0 ? nodes[Int(right)].sum : 0)
    }
}
