import BulwarkCore
import NIOCore

/// A fixed number of pipelined connections to one server, made on demand and remade after a loss.
///
/// Commands go round-robin over the connections; each connection carries any number at once. A
/// connection that cannot be made puts its slot in back-off (doubling from
/// ``RedisConfiguration/reconnectBackoff`` to ``RedisConfiguration/maximumReconnectBackoff``);
/// meanwhile commands use the other slots, or fail at once with ``RedisError/unavailable(_:)`` when
/// every slot is down: a caller is never held past its deadline by a dead server.
final class RedisConnectionPool: Sendable {
    let endpoint: RedisEndpoint
    private let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let state: LockedValue<State>

    private enum Slot {
        case idle(failures: Int)
        case connecting(EventLoopFuture<RedisConnection>, failures: Int)
        case ready(RedisConnection)
        case backingOff(until: NIODeadline, failures: Int, reason: String)
    }

    private struct State {
        var slots: [Slot]
        var next = 0
        var isShutDown = false
    }

    init(endpoint: RedisEndpoint, configuration: RedisConfiguration, group: any EventLoopGroup) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.group = group
        self.state = LockedValue(State(slots: Array(repeating: .idle(failures: 0), count: configuration.poolSize)))
    }

    private enum Pick {
        case ready(RedisConnection)
        case wait(EventLoopFuture<RedisConnection>)
        case connect(slot: Int, promise: EventLoopPromise<RedisConnection>)
        case fail(RedisError)
    }

    /// A live connection, made if need be, by `deadline`.
    func connection(deadline: NIODeadline) async throws(RedisError) -> RedisConnection {
        let now = NIODeadline.now()
        let loop = group.next()
        let pick: Pick = state.withLock { state in
            if state.isShutDown { return .fail(.shutDown) }
            let count = state.slots.count
            let first = state.next
            state.next = (first + 1) % count
            // The round-robin slot if it is usable, else any ready one, else any that may connect.
            var fallback: Pick?
            var lastReason = "no connection"
            for offset in 0..<count {
                let index = (first + offset) % count
                switch state.slots[index] {
                case .ready(let connection) where connection.isActive:
                    return .ready(connection)
                case .ready:
                    state.slots[index] = .idle(failures: 0)
                    if fallback == nil { fallback = startConnecting(&state, index, failures: 0, loop: loop) }
                case .connecting(let future, _):
                    if fallback == nil { fallback = .wait(future) }
                case .idle(let failures):
                    if fallback == nil { fallback = startConnecting(&state, index, failures: failures, loop: loop) }
                case .backingOff(let until, let failures, let reason):
                    lastReason = reason
                    if until <= now, fallback == nil {
                        fallback = startConnecting(&state, index, failures: failures, loop: loop)
                    }
                }
                if offset == 0, fallback != nil { break }
            }
            return fallback ?? .fail(.unavailable(lastReason))
        }
        let future: EventLoopFuture<RedisConnection>
        switch pick {
        case .ready(let connection): return connection
        case .fail(let error): throw error
        case .wait(let pending): future = pending
        case .connect(let slot, let promise):
            future = promise.futureResult
            let connectBy = min(deadline, now + TimeAmount(configuration.connectTimeout))
            connect(slot: slot, promise: promise, deadline: connectBy)
        }
        return try await Self.wait(for: future, until: deadline, on: loop)
    }

    private func startConnecting(_ state: inout State, _ index: Int, failures: Int, loop: any EventLoop) -> Pick {
        let promise = loop.makePromise(of: RedisConnection.self)
        state.slots[index] = .connecting(promise.futureResult, failures: failures)
        return .connect(slot: index, promise: promise)
    }

    private func connect(slot: Int, promise: EventLoopPromise<RedisConnection>, deadline: NIODeadline) {
        let backoff = configuration.reconnectBackoff
        let maximum = configuration.maximumReconnectBackoff
        RedisConnection.connect(to: endpoint, configuration: configuration, group: group, deadline: deadline)
            .whenComplete { [state] result in
                switch result {
                case .success(let connection):
                    let keep = state.withLock { state in
                        guard !state.isShutDown else { return false }
                        state.slots[slot] = .ready(connection)
                        return true
                    }
                    guard keep else {
                        connection.channel.close(promise: nil)
                        promise.fail(RedisError.shutDown)
                        return
                    }
                    // A lost connection frees its slot for the next command to remake.
                    connection.channel.closeFuture.whenComplete { _ in
                        state.withLock { state in
                            if case .ready(let current) = state.slots[slot], current === connection {
                                state.slots[slot] = .idle(failures: 0)
                            }
                        }
                    }
                    promise.succeed(connection)
                case .failure(let error):
                    state.withLock { state in
                        guard case .connecting(_, let failures) = state.slots[slot] else { return }
                        var wait = backoff
                        for _ in 0..<min(failures, 30) where wait < maximum { wait = wait * 2 }
                        state.slots[slot] = .backingOff(
                            until: .now() + TimeAmount(min(wait, maximum)), failures: failures + 1, reason: "\(error)"
                        )
                    }
                    promise.fail(error)
                }
            }
    }

    /// The connection `future` gives, or ``RedisError/unavailable(_:)`` at `deadline`.
    private static func wait(
        for future: EventLoopFuture<RedisConnection>,
        until deadline: NIODeadline,
        on loop: any EventLoop
    ) async throws(RedisError) -> RedisConnection {
        let bounded = loop.makePromise(of: RedisConnection.self)
        let timer = loop.scheduleTask(deadline: deadline) {
            bounded.fail(RedisError.unavailable("no connection by the deadline"))
        }
        future.whenComplete { result in
            timer.cancel()
            bounded.completeWith(result)
        }
        do {
            return try await bounded.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }

    /// Closes every connection; later commands fail with ``RedisError/shutDown``.
    func shutdown() async {
        let connections: [RedisConnection] = state.withLock { state in
            state.isShutDown = true
            defer { state.slots = state.slots.map { _ in .idle(failures: 0) } }
            return state.slots.compactMap { if case .ready(let connection) = $0 { connection } else { nil } }
        }
        for connection in connections { await connection.close() }
    }
}
