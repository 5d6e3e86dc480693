/// An ordered set of unique keys, each with a cost, that answers "the smallest key" and "the total
/// cost of the keys before this one" in O(log n).
///
/// It is the one ordered structure behind every queue: the waiting room's deadlines, the priority
/// and deadline orders (whose predicted wait is the cost queued before a newcomer), the fair
/// order's partitions and the job queues' eviction order. A treap (a binary search tree balanced by
/// random heap priorities) kept in one array of nodes with a free list, so once it has grown to its
/// largest size it allocates nothing; every operation takes O(log n) expected time.
@usableFromInline
package struct CostTree<Key: Comparable & Sendable>: Sendable {
    @usableFromInline
    struct Node: Sendable {
        @usableFromInline var key: Key
        @usableFromInline var cost: Int
        /// The cost of this node's subtree.
        @usableFromInline var sum: Int
        @usableFromInline var weight: UInt64
        @usableFromInline var left: Int32
        @usableFromInline var right: Int32

        @inlinable
        init(key: Key, cost: Int, sum: Int, weight: UInt64, left: Int32, right: Int32) {
            (self.key, self.cost, self.sum, self.weight, self.left, self.right) = (key, cost, sum, weight, left, right)
        }
    }

    @usableFromInline var nodes: [Node] = []
    @usableFromInline var free: [Int32] = []
    @usableFromInline var root: Int32 = -1
    /// The heap priorities' generator, seeded per tree so no sequence of keys can be chosen
    /// against it.
    @usableFromInline var seed = UInt64.random(in: 1 ... .max)
    /// How many keys the tree holds.
    @usableFromInline package private(set) var count = 0

    /// Creates an empty tree.
    @inlinable
    package init() {}

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
            if node.key < key {
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
            if node.key == key { return true }
            index = key < node.key ? node.left : node.right
        }
        return false
    }

    /// Adds `key` with `cost`; the key must not be in the tree already.
    @inlinable
    package mutating func insert(_ key: Key, cost: Int) {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let node = Node(key: key, cost: cost, sum: cost, weight: seed ^ (seed >> 29), left: -1, right: -1)
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
            if node.key == key {
                cost = node.cost
                break
            }
            parent = index
            index = key < node.key ? node.left : node.right
        }
        var walk = root
        while walk != index {
            nodes[Int(walk)].sum -= cost
            walk = key < nodes[Int(walk)].key ? nodes[Int(walk)].left : nodes[Int(walk)].right
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
        if nodes[i].key < key {
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
        if nodes[Int(left)].weight > nodes[Int(right)].weight {
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

    @inlinable
    mutating func update(_ i: Int) {
        let left = nodes[i].left
        let right = nodes[i].right
        nodes[i].sum = nodes[i].cost + (left >= 0 ? nodes[Int(left)].sum : 0) + (right >= 0 ? nodes[Int(right)].sum : 0)
    }
}
