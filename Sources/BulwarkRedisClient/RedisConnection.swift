import NIOCore
import NIOPosix
import Synchronization

/// A command on its way to Redis: its encoded bytes, where its reply goes, and when to give up.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<RESPValue>
    var deadline: NIODeadline
    /// How many replies the bytes ask for; only the last is delivered (`ASKING` then a command).
    var replies = 1
}

/// The RESP parser as NIO's single-step decoder: one reply per call, `nil` until the bytes for a
/// whole reply are in (pushes and attributes are read past).
struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    var parser: RESPParser

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try parser.next(&buffer)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try parser.next(&buffer)
    }
}

/// Matches replies to commands in order on one connection (RESP answers in the order it was asked,
/// so any number of commands can be in flight: pipelining).
///
/// A command past its deadline fails with ``RedisError/timedOut`` and closes the connection: the
/// reply it is owed would otherwise be taken for the next command's. Every other pending command
/// then fails with ``RedisError/connectionLost(_:)``, which is as uncertain as a timeout.
final class RESPChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<(promise: EventLoopPromise<RESPValue>, deadline: NIODeadline, replies: Int)>()
    /// Buffers the bytes received and decodes whole replies from them (NIO's own loop, as its
    /// protocol handlers use).
    private let replies: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var closedReason: String?

    /// A handler whose parser refuses lengths, counts and lines above `maximumReplyLength`
    /// (``RedisConfiguration/maximumReplyLength``).
    init(maximumReplyLength: Int) {
        replies = NIOSingleStepByteToMessageProcessor(RESPDecoder(parser: RESPParser(maximumLength: maximumReplyLength)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedReason {
            request.promise.fail(RedisError.unavailable(closedReason))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        pending.append((request.promise, request.deadline, request.replies))
        arm(context: context, for: request.deadline)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closedReason == nil else { return }
        do {
            try replies.process(buffer: unwrapInboundIn(data)) { value in
                guard !pending.isEmpty else { throw RedisError.protocolViolation("a reply nobody asked for") }
                pending[pending.startIndex].replies -= 1
                if pending[pending.startIndex].replies == 0 { pending.removeFirst().promise.succeed(value) }
            }
        } catch let error as RedisError {
            fail(context: context, error)
        } catch {
            fail(context: context, RedisError.protocolViolation("\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failPending(RedisError.connectionLost(closedReason ?? "closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, RedisError.connectionLost("\(error)"))
    }

    /// Fails everything pending and closes the connection.
    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        closedReason = closedReason ?? error.description
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: RedisError) {
        closedReason = closedReason ?? error.description
        timer?.cancel()
        timer = nil
        while let next = pending.popFirst() { next.promise.fail(error) }
    }

    /// Keeps one timer, set for the earliest deadline of the commands in flight.
    private func arm(context: ChannelHandlerContext, for deadline: NIODeadline) {
        if let armed = timerDeadline, armed <= deadline, timer != nil { return }
        timer?.cancel()
        timerDeadline = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = nil
        let now = NIODeadline.now()
        guard let index = pending.firstIndex(where: { $0.deadline <= now }) else {
            if let earliest = pending.map(\.deadline).min() { arm(context: context, for: earliest) }
            return
        }
        let late = pending.remove(at: index)
        late.promise.fail(RedisError.timedOut)
        fail(context: context, RedisError.connectionLost("an earlier command on this connection timed out"))
    }
}

/// One connection to one Redis server, after its handshake (protocol, credentials, database).
final class RedisConnection: Sendable {
    let channel: any Channel
    /// The protocol the server agreed to: 3 after a successful `HELLO 3`, else 2.
    let protocolVersion: Int
    private let sent = Atomic<Int>(0)

    /// How many commands sent on this connection await their reply: how the pool picks.
    var inFlight: Int { sent.load(ordering: .relaxed) }

    private init(channel: any Channel, protocolVersion: Int) {
        self.channel = channel
        self.protocolVersion = protocolVersion
    }

    var isActive: Bool { channel.isActive }

    /// Sends one command; its reply, or the reason there is none.
    func send(_ command: ByteBuffer, replies: Int = 1, deadline: NIODeadline) async throws(RedisError) -> RESPValue {
        sent.add(1, ordering: .relaxed)
        defer { sent.subtract(1, ordering: .relaxed) }
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(bytes: command, promise: promise, deadline: deadline, replies: replies)
        channel.writeAndFlush(request).whenFailure { _ in
            promise.fail(RedisError.unavailable("the connection closed before the command was sent"))
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionLost("\(error)")
        }
    }

    /// Sends one command and turns an error reply into ``RedisError/reply(_:)``'s error.
    func call(_ arguments: [String], deadline: NIODeadline) async throws(RedisError) -> RESPValue {
        let reply = try await send(RESPCommand.encode(arguments, allocator: channel.allocator), deadline: deadline)
        if case .error(let message) = reply { throw .reply(message) }
        return reply
    }

    func close() async {
        try? await channel.close()
    }

    /// Connects and shakes hands: `HELLO 3` with the credentials (RESP3), or, where the server does
    /// not know `HELLO` (before Redis 6), `AUTH` and RESP2; then `SELECT` when a database is set.
    ///
    /// Futures on the event loop throughout, not tasks: a connection is made in time even when every
    /// thread of Swift's concurrency pool is busy.
    static func connect(
        to endpoint: RedisEndpoint,
        configuration: RedisConfiguration,
        loop: any EventLoop,
        deadline: NIODeadline
    ) -> EventLoopFuture<RedisConnection> {
        let timeout = deadline - .now()
        guard timeout > .zero else {
            return loop.makeFailedFuture(RedisError.unavailable("no time left to connect to \(endpoint)"))
        }
        return ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RESPChannelHandler(maximumReplyLength: configuration.maximumReplyLength)
                    )
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapErrorThrowing { error in throw RedisError.unavailable("cannot connect to \(endpoint): \(error)") }
            .flatMap { channel in
                handshake(channel: channel, configuration: configuration, deadline: deadline)
                    .map { version in RedisConnection(channel: channel, protocolVersion: version) }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        let reason: RedisError =
                            switch error as? RedisError {
                            case .server(let message)?: .unavailable("\(endpoint) refused the handshake: \(message)")
                            case let other?: .unavailable("\(endpoint) did not finish the handshake: \(other)")
                            case nil: .unavailable("\(endpoint) did not finish the handshake: \(error)")
                            }
                        return channel.eventLoop.makeFailedFuture(reason)
                    }
            }
    }

    private static func handshake(
        channel: any Channel,
        configuration: RedisConfiguration,
        deadline: NIODeadline
    ) -> EventLoopFuture<Int> {
        @Sendable func call(_ arguments: [String]) -> EventLoopFuture<RESPValue> {
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            let bytes = RESPCommand.encode(arguments, allocator: channel.allocator)
            // A write that fails never reaches the handler (the channel closed under it: the
            // server died mid-handshake), so the reply's promise is failed here, or the attempt
            // would wait for ever.
            channel.writeAndFlush(RedisRequest(bytes: bytes, promise: promise, deadline: deadline)).whenFailure { error in
                promise.fail(RedisError.connectionLost("the handshake could not be sent: \(error)"))
            }
            return promise.futureResult.flatMapThrowing { reply in
                if case .error(let message) = reply { throw RedisError.server(message) }
                return reply
            }
        }
        var hello = ["HELLO", "3"]
        if let password = configuration.password {
            hello += ["AUTH", configuration.username ?? "default", password]
        }
        let agreed = call(hello).map { _ in 3 }.flatMapError { error -> EventLoopFuture<Int> in
            guard case .server(let message) = error as? RedisError,
                message.hasPrefix("ERR unknown command") || message.hasPrefix("NOPROTO")
            else { return channel.eventLoop.makeFailedFuture(error) }
            guard let password = configuration.password else { return channel.eventLoop.makeSucceededFuture(2) }
            return call(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]).map { _ in 2 }
        }
        guard configuration.database != 0 else { return agreed }
        return agreed.flatMap { version in call(["SELECT", String(configuration.database)]).map { _ in version } }
    }
}

/// Encodes commands as RESP arrays of bulk strings.
enum RESPCommand {
    static func encode(_ arguments: [String], allocator: ByteBufferAllocator) -> ByteBuffer {
        var size = 16
        for argument in arguments { size += argument.utf8.count + 16 }
        var buffer = allocator.buffer(capacity: size)
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(argument.utf8.count))
            buffer.writeStaticString("\r\n")
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }
}
