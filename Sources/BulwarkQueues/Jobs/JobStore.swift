import BulwarkCore
public import BulwarkEngine

/// The jobs a ``JobQueue`` holds, kept in its order and by deadline, in as few bytes a job as
/// the operations allow.
///
/// - The jobs live in one array of slots (a freed slot is reused), found by id through a
///   dictionary of slot numbers (12 bytes an entry): 72 bytes a job plus the payload's own
///   size beyond 8, and about 25 for the dictionary at its usual fill.
/// - The deadlines are a binary heap of `(deadline, id)` pairs, 16 bytes each. A job that leaves
///   before its deadline leaves its pair behind; pairs of departed jobs are dropped when they
///   reach the top (so the top is always a queued job's) and all at once when they outnumber the
///   queued jobs with a deadline.
/// - The order keeps its own tickets (57 bytes each in the first-in-first-out order, an 80-byte
///   tree node in the priority and deadline orders).
///
/// Storage is given back as the queue drains: the slots are compacted once three quarters of
/// them are free, the dictionary rebuilt once it is less than a quarter full, and everything
/// released when the queue empties (small tables excepted, so a queue that fills and empties
/// one job at a time allocates nothing). Every operation takes O(log n) amortised, plus the
/// order's.
@usableFromInline
struct JobStore<Job: Sendable>: Sendable {
    @usableFromInline var order: any WaitOrder
    @usableFromInline var slots: [QueuedJob<Job>?] = []
    @usableFromInline var freeSlots: [Int32] = []
    @usableFromInline var slotOf: [UInt64: Int32] = [:]
    /// A binary min-heap; may hold pairs of jobs no longer queued, never at the top.
    @usableFromInline var deadlines: [JobDeadline] = []
    /// How many queued jobs have a deadline.
    @usableFromInline var withDeadline = 0

    @inlinable
    init(order: any WaitOrder) {
        self.order = order
    }

    /// How many jobs are queued.
    @inlinable
    var count: Int { slotOf.count }

    /// The earliest deadline among the queued jobs, or `Int64.max`.
    @inlinable
    var earliestDeadline: Int64 { deadlines.first?.deadline ?? .max }

    /// The elements the store's own arrays and table have room for (the order's aside).
    var reservedCapacity: Int { slots.capacity + freeSlots.capacity + slotOf.capacity + deadlines.capacity }

    /// Queues a job (its id must be new).
    @inlinable
    mutating func enqueue(_ job: QueuedJob<Job>) {
        order.enqueue(job.ticket)
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = job
        } else {
            slot = Int32(slots.count)
            slots.append(job)
        }
        slotOf[job.id] = slot
        if let deadline = job.deadline {
            withDeadline += 1
            push(JobDeadline(deadline: deadline, id: job.id))
        }
    }

    /// The ticket the order serves next.
    @inlinable
    func next(at now: Int64) -> WaitTicket? {
        order.next(at: now)
    }

    /// Removes a job that leaves unserved (cancelled, dropped, expired); returns it if it was queued.
    @inlinable
    mutating func remove(id: UInt64) -> QueuedJob<Job>? {
        take(id: id, served: false)
    }

    /// Removes the job the order named next, because it is served.
    @inlinable
    mutating func removeServed(id: UInt64) -> QueuedJob<Job>? {
        take(id: id, served: true)
    }

    /// Removes the job with the earliest deadline if that deadline is at or before `now`.
    @inlinable
    mutating func removeExpired(at now: Int64) -> QueuedJob<Job>? {
        guard let first = deadlines.first, first.deadline <= now else { return nil }
        return take(id: first.id, served: false)
    }

    @inlinable
    mutating func take(id: UInt64, served: Bool) -> QueuedJob<Job>? {
        guard let slot = slotOf.removeValue(forKey: id), let job = slots[Int(slot)] else { return nil }
        slots[Int(slot)] = nil
        if served { order.removeServed(job.ticket) } else { order.remove(job.ticket) }
        if job.deadline != nil {
            withDeadline -= 1
            dropDepartedDeadlines()
        }
        if slotOf.isEmpty {
            release()
        } else {
            freeSlots.append(slot)
            if slots.count > 64, slotOf.count * 4 < slots.count { compact() }
        }
        return job
    }

    // MARK: - Storage

    /// Empties the store, giving back large arrays.
    @usableFromInline
    mutating func release() {
        let keep = slots.capacity <= 64
        slots.removeAll(keepingCapacity: keep)
        freeSlots.removeAll(keepingCapacity: keep)
        deadlines.removeAll(keepingCapacity: deadlines.capacity <= 64)
        slotOf.releaseUnusedCapacity()
        withDeadline = 0
    }

    /// Moves the queued jobs to the front of fresh arrays sized for them.
    @usableFromInline
    mutating func compact() {
        var kept: [QueuedJob<Job>?] = []
        kept.reserveCapacity(slotOf.count)
        var renumbered: [UInt64: Int32] = [:]
        renumbered.reserveCapacity(slotOf.count)
        for case let job? in slots {
            renumbered[job.id] = Int32(kept.count)
            kept.append(job)
        }
        slots = kept
        slotOf = renumbered
        freeSlots = []
    }

    /// Pops departed jobs' deadlines off the top, and rebuilds the heap once they outnumber the
    /// queued jobs' deadlines.
    @inlinable
    mutating func dropDepartedDeadlines() {
        while let first = deadlines.first, slotOf[first.id] == nil { pop() }
        if deadlines.count > 2 * withDeadline + 64 { rebuildDeadlines() }
    }

    /// Keeps only the queued jobs' deadlines, in a heap sized for them: O(n).
    @usableFromInline
    mutating func rebuildDeadlines() {
        var kept: [JobDeadline] = []
        kept.reserveCapacity(withDeadline)
        for entry in deadlines where slotOf[entry.id] != nil { kept.append(entry) }
        deadlines = kept
        // Heapify bottom-up: O(n).
        var index = deadlines.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    @inlinable
    mutating func push(_ entry: JobDeadline) {
        deadlines.append(entry)
        var child = deadlines.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard deadlines[child].precedes(deadlines[parent]) else { break }
            deadlines.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable
    mutating func pop() {
        let last = deadlines.removeLast()
        guard !deadlines.isEmpty else { return }
        deadlines[0] = last
        siftDown(0)
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < deadlines.count else { return }
            let right = left + 1
            let child = right < deadlines.count && deadlines[right].precedes(deadlines[left]) ? right : left
            guard deadlines[child].precedes(deadlines[parent]) else { return }
            deadlines.swapAt(child, parent)
            parent = child
        }
    }
}

/// A job's deadline in the `JobStore`'s heap (not nested in the generic store, so that code
/// not specialised for the job type handles it as a plain value).
@usableFromInline
struct JobDeadline: Sendable {
    @usableFromInline var deadline: Int64
    @usableFromInline var id: UInt64
    @inlinable
    init(deadline: Int64, id: UInt64) {
        (self.deadline, self.id) = (deadline, id)
    }
    @inlinable
    func precedes(_ other: Self) -> Bool { (deadline, id) < (other.deadline, other.id) }
}
