/// The calls a timeout watches, by deadline: a binary min-heap over reusable slots, so arming,
/// disarming and popping are O(log n) and allocate nothing once the arrays have grown to the
/// largest number of calls in flight.
struct DeadlineHeap {
    /// One watched call.
    struct Slot {
        var deadline: Int64 = 0
        /// Where the slot sits in `heap`; -1 when free.
        var position = -1
        var task: UnsafeCurrentTask?
        var state: State = .armed
    }

    /// Where a watched call stands.
    enum State {
        /// Its deadline has not passed.
        case armed
        /// The timer is cancelling it right now: the call must wait before it leaves.
        case firing
        /// It was cancelled at its deadline.
        case fired
    }

    private(set) var slots: [Slot] = []
    /// Slot indices ordered as a min-heap on their deadlines.
    private var heap: [Int] = []
    private var free: [Int] = []

    var isEmpty: Bool { heap.isEmpty }

    /// The earliest deadline watched.
    var earliest: Int64? { heap.first.map { slots[$0].deadline } }

    /// Watches `task` until `deadline`; returns its slot.
    mutating func arm(_ task: UnsafeCurrentTask, until deadline: Int64) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = slots.count
            slots.append(Slot())
        }
        slots[slot] = Slot(deadline: deadline, position: heap.count, task: task, state: .armed)
        heap.append(slot)
        siftUp(heap.count - 1)
        return slot
    }

    /// Stops watching `slot` and frees it; returns whether its deadline had fired.
    mutating func disarm(_ slot: Int) -> Bool {
        let fired = slots[slot].state == .fired
        let position = slots[slot].position
        if position >= 0 { remove(at: position) }
        slots[slot] = Slot()
        free.append(slot)
        return fired
    }

    /// Whether `slot` is being cancelled right now.
    func isFiring(_ slot: Int) -> Bool {
        slots[slot].state == .firing
    }

    /// Takes the earliest slot whose deadline is at or before `now` out of the heap, marked as
    /// firing, with its task.
    mutating func popDue(at now: Int64) -> (slot: Int, task: UnsafeCurrentTask)? {
        guard let first = heap.first, slots[first].deadline <= now, let task = slots[first].task else { return nil }
        remove(at: 0)
        slots[first].state = .firing
        return (first, task)
    }

    /// Marks a slot the timer has cancelled.
    mutating func markFired(_ slot: Int) {
        slots[slot].state = .fired
    }

    private mutating func remove(at position: Int) {
        let last = heap.count - 1
        if position != last {
            heap.swapAt(position, last)
            slots[heap[position]].position = position
        }
        slots[heap[last]].position = -1
        heap.removeLast()
        if position < heap.count {
            siftDown(position)
            siftUp(position)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard slots[heap[child]].deadline < slots[heap[parent]].deadline else { return }
            swapPositions(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            let left = 2 * parent + 1
            if left < heap.count, slots[heap[left]].deadline < slots[heap[smallest]].deadline { smallest = left }
            if left + 1 < heap.count, slots[heap[left + 1]].deadline < slots[heap[smallest]].deadline { smallest = left + 1 }
            guard smallest != parent else { return }
            swapPositions(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapPositions(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        slots[heap[a]].position = a
        slots[heap[b]].position = b
    }
}
