import BulwarkCore

/// The answer a submitter waits for: resolved exactly once, by whoever finishes the job first
/// (a worker, the queue's expiry or overflow, a shutdown, or a cancellation).
final class Reply<Output: Sendable>: Sendable {
    struct State: Sendable {
        var continuation: UnsafeContinuation<Result<Output, any Error>, Never>?
        var id: UInt64?
        var cancelled = false
        var resolved = false
    }

    private let state = LockedValue(State())

    init() {}

    /// Remembers whom to resume.
    func attach(_ continuation: UnsafeContinuation<Result<Output, any Error>, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Records the job's id in the queue; returns whether the submitter was cancelled before
    /// (the caller then takes the job back out).
    func queued(as id: UInt64) -> Bool {
        state.withLock { state in
            state.id = id
            return state.cancelled
        }
    }

    /// Records the submitter's cancellation; returns the job's id if it is queued.
    func cancel() -> UInt64? {
        state.withLock { state in
            state.cancelled = true
            return state.id
        }
    }

    /// Answers the submitter, unless someone already did.
    func resolve(_ result: Result<Output, any Error>) {
        let continuation = state.withLock { state -> UnsafeContinuation<Result<Output, any Error>, Never>? in
            guard !state.resolved else { return nil }
            state.resolved = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: result)
    }
}
