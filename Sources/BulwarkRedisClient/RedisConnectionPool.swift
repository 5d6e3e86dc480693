import BulwarkCore
import NIOCore

/// A fixed number of pipelined connections to one server, made on demand and remade after a loss.
///
/// A command goes to the ready connection with the fewest commands in flight (the first on ties), and
/// each connection carries any number at once: one caller keeps to one connection, many spread over
/// all; a slot is connected when it is first needed (every connection busy, or none up). A
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
        // The caller's own event loop when it runs on one (under ``RedisClient/taskExecutor``).
        let loop = group.any()
        let pick: Pick = state.withLock { state in
            if state.isShutDown { return .fail(.shutDown) }
            // The ready connection with the fewest commands in flight, one on the caller's event
            // loop first, then the first slot: one caller keeps to one connection (and so to one
            // event loop, which stays warm), many spread over all of them. Rank 0: idle, on the
            // caller's loop; 1: idle, elsewhere; then two ranks per command in flight.
            var best: (connection: RedisConnection, rank: Int)?
            for case .ready(let connection) in state.slots where connection.isActive {
                let rank = connection.inFlight * 2 + (connection.channel.eventLoop.inEventLoop ? 0 : 1)
                if rank < best?.rank ?? .max { best = (connection, rank) }
                if rank == 0 { break }
            }
            // An idle one is taken, unless the caller runs on an event loop and it is on another:
            // then a connection on the caller's loop is made first, if a slot may be.
            if let best, best.rank == 0 || (best.rank == 1 && !loop.inEventLoop) { return .ready(best.connection) }
            // Every connection is busy, or none is up: a slot that may be (re)made now is made. A
            // connection to a live server is quick; this is how a busy pool grows to its size and
            // how a lost slot comes back.
            for index in state.slots.indices {
                if case .ready(let connection) = state.slots[index], connection.isActive { continue }
                if let pick = Self.use(&state, index, now: now, loop: loop, joining: false) { return pick }
            }
            if let best { return .ready(best.connection) }
            // None ready: join an attempt in progress, else fail with the last attempt's reason.
            for index in state.slots.indices {
                if let pick = Self.use(&state, index, now: now, loop: loop, joining: true) { return pick }
            }
            var lastReason = "no connection"
            for slot in state.slots { if case .backingOff(_, _, let reason) = slot { lastReason = reason } }
            return .fail(.unavailable(lastReason))
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

    /// What slot `index` offers: its connection if ready, a new attempt if it may connect now,
    /// its attempt in progress if `joining`; `nil` otherwise. Each attempt started is returned,
    /// so its caller makes it: none is left connecting with nobody connecting it.
    private static func use(_ state: inout State, _ index: Int, now: NIODeadline, loop: any EventLoop, joining: Bool) -> Pick? {
        switch state.slots[index] {
        case .ready(let connection) where connection.isActive:
            return .ready(connection)
        case .ready:
            return startConnecting(&state, index, failures: 0, loop: loop)
        case .idle(let failures):
            return startConnecting(&state, index, failures: failures, loop: loop)
        case .backingOff(let until, let failures, _) where until <= now:
            return startConnecting(&state, index, failures: failures, loop: loop)
        case .connecting(let future, _) where joining:
            return .wait(future)
        case .connecting, .backingOff:
            return nil
        }
    }

    private static func startConnecting(_ state: inout State, _ index: Int, failures: Int, loop: any EventLoop) -> Pick {
        let promise = loop.makePromise(of: RedisConnection.self)
        state.slots[index] = .connecting(promise.futureResult, failures: failures)
        return .connect(slot: index, promise: promise)
    }

    /// Makes the connection of `slot`, which is `.connecting` with `promise`'s future.
    ///
    /// Every attempt ends by `deadline`, connected or failed, whatever the server does: a timer
    /// fails it then even if the connection itself never answers (the server killed between the TCP
    /// handshake and `HELLO`'s reply, a peer that accepts and stays silent). Whichever comes first,
    /// the attempt's outcome or the timer, settles the slot; a connection made after its attempt
    /// was given up is closed. A slot is therefore never stuck connecting, and its failure puts
    /// only that slot in back-off.
    private func connect(slot: Int, promise: EventLoopPromise<RedisConnection>, deadline: NIODeadline) {
        let attempt = promise.futureResult
        let timer = attempt.eventLoop.scheduleTask(deadline: deadline) { [self] in
            settle(slot: slot, promise: promise, .failure(RedisError.unavailable("no connection to \(endpoint) within the connect timeout")))
        }
        RedisConnection.connect(to: endpoint, configuration: configuration, loop: promise.futureResult.eventLoop, deadline: deadline)
            .whenComplete { [self] result in
                timer.cancel()
                settle(slot: slot, promise: promise, result)
            }
    }

    /// Ends the attempt of `promise` on `slot` with `result`, once (a later call is ignored).
    private func settle(slot: Int, promise: EventLoopPromise<RedisConnection>, _ result: Result<RedisConnection, any Error>) {
        let attempt = promise.futureResult
        let isCurrent: Bool = state.withLock { state in
            guard !state.isShutDown, case .connecting(let current, let failures) = state.slots[slot], current === attempt
            else { return false }
            switch result {
            case .success(let connection):
                state.slots[slot] = .ready(connection)
            case .failure(let error):
                var wait = configuration.reconnectBackoff
                let maximum = configuration.maximumReconnectBackoff
                for _ in 0..<min(failures, 30) where wait < maximum { wait = wait * 2 }
                // The reason alone: the error a caller gets wraps it in `.unavailable` once.
                let reason = if case .unavailable(let reason)? = error as? RedisError { reason } else { "\(error)" }
                state.slots[slot] = .backingOff(until: .now() + TimeAmount(min(wait, maximum)), failures: failures + 1, reason: reason)
            }
            return true
        }
        switch result {
        case .success(let connection) where isCurrent:
            // A lost connection frees its slot for the next command to remake.
            connection.channel.closeFuture.whenComplete { [state] _ in
                state.withLock { state in
                    if case .ready(let current) = state.slots[slot], current === connection {
                        state.slots[slot] = .idle(failures: 0)
                    }
                }
            }
            promise.succeed(connection)
        case .success(let connection):
            // Given up already (the timer, or a shutdown): not kept.
            connection.channel.close(promise: nil)
            promise.fail(state.withLock { $0.isShutDown } ? RedisError.shutDown : RedisError.unavailable("no connection to \(endpoint) within the connect timeout"))
        case .failure(let error):
            promise.fail(error)
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
