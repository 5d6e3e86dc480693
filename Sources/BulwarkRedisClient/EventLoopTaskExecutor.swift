public import NIOCore

/// Runs tasks on one SwiftNIO event loop: what ``RedisClient/taskExecutor`` returns.
///
/// A task that prefers it (`withTaskExecutorPreference`) runs its code on the event loop that also
/// carries its Redis connection, so a command costs no hand-off between threads: the caller writes
/// the command on the loop's thread, and the reply resumes the caller on that same thread.
/// Without it, a round trip crosses threads twice (the caller's task hands the command to the event
/// loop, the reply hands it back to Swift's concurrency pool).
///
/// Code that runs on it holds the event loop while it runs: keep blocking or CPU-heavy work off it.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The event loop the tasks run on.
    public let eventLoop: any EventLoop

    /// An executor on `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Runs `job` on the event loop.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
