public import BulwarkCore
public import BulwarkEngine

/// A job held by a ``JobQueue``, with what the queue knows about it.
public struct QueuedJob<Job: Sendable>: Sendable, Identifiable {
    /// Unique within its queue, in the order jobs were enqueued.
    public var id: UInt64
    /// The work itself.
    public var job: Job
    /// How urgent it is (priority orders, and the lowest-priority overflow policy).
    public var priority: Priority
    /// Whose share it counts against (fair orders).
    public var partitionKey: String?
    /// What it weighs (fair orders by cost).
    public var cost: Int
    /// When it was enqueued, in clock nanoseconds.
    public var enqueuedAt: Int64
    /// When it expires if still queued, in clock nanoseconds; `nil` for never.
    public var deadline: Int64?

    /// Creates a record of a queued job.
    public init(
        id: UInt64, job: Job, priority: Priority, partitionKey: String?, cost: Int, enqueuedAt: Int64, deadline: Int64?
    ) {
        self.id = id
        self.job = job
        self.priority = priority
        self.partitionKey = partitionKey
        self.cost = cost
        self.enqueuedAt = enqueuedAt
        self.deadline = deadline
    }

    /// The ticket the queue's order sees.
    @inlinable
    var ticket: WaitTicket {
        WaitTicket(
            id: id, cost: cost, priority: priority, partitionKey: partitionKey, enqueuedAt: enqueuedAt,
            deadline: deadline ?? .max
        )
    }
}

/// What a full ``JobQueue`` does with one more job.
public enum JobQueueOverflow: Sendable, Hashable {
    /// Refuse the newcomer with `BulwarkError/queueFull(limit:)`; nothing queued is touched.
    case rejectNewest
    /// Drop the job that has been queued longest to make room; it is reported as
    /// ``JobQueueRemoval/dropped``.
    case dropOldest
    /// Drop the newest of the least urgent queued jobs when the newcomer is more urgent (reported
    /// as ``JobQueueRemoval/dropped``); otherwise refuse the newcomer.
    case rejectLowestPriority
}

/// Why a job left a ``JobQueue`` without being dequeued; told to the queue's `onRemoval`.
public enum JobQueueRemoval: Sendable, Hashable {
    /// Its deadline passed while it was queued.
    case expired
    /// The overflow policy dropped it for a newcomer.
    case dropped
}
