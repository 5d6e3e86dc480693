import BulwarkCore
import NIOCore
import NIOPosix

extension RedisClient {
    /// The messages published on `channel`, on a connection of their own (RESP2, where a
    /// subscription's messages are plain replies), to the first configured server: in a cluster
    /// every node relays every message.
    ///
    ///     for await message in try await redis.subscribe(to: "settings:changed") { reload(message) }
    ///
    /// The stream ends when the connection is lost (subscribe again: messages published meanwhile
    /// are lost, as Redis pub/sub loses them) or when the task iterating it is cancelled, which
    /// closes the connection.
    ///
    /// - Throws: ``RedisError/unavailable(_:)`` when the server cannot be reached or refuses the
    ///   credentials or the subscription within the connect timeout.
    public func subscribe(to channel: String) async throws(RedisError) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1_024))
        let endpoint = configuration.endpoints[0]
        let loop = group.next()
        let confirmed = SubscriptionConfirmation(loop.makePromise(of: Void.self))
        let (maximumLength, timeout) = (configuration.maximumReplyLength, TimeAmount(configuration.connectTimeout))
        let channelFuture = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RESPSubscriptionHandler(
                        maximumReplyLength: maximumLength, timeout: timeout, continuation: continuation, confirmed: confirmed
                    ))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        let connection: any Channel
        do {
            connection = try await channelFuture.get()
        } catch {
            confirmed.settle(.failure(error))
            continuation.finish()
            throw .unavailable("cannot connect to \(endpoint): \(error)")
        }
        var commands: [[String]] = []
        if let password = configuration.password {
            commands.append(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        commands.append(["SUBSCRIBE", channel])
        var bytes = connection.allocator.buffer(capacity: 64)
        for command in commands {
            var encoded = RESPCommand.encode(command, allocator: connection.allocator)
            bytes.writeBuffer(&encoded)
        }
        connection.writeAndFlush(bytes, promise: nil)
        do {
            try await confirmed.promise.futureResult.get()
        } catch {
            connection.close(promise: nil)
            continuation.finish()
            throw (error as? RedisError) ?? .unavailable("\(error)")
        }
        continuation.onTermination = { _ in connection.close(promise: nil) }
        return stream
    }
}

/// Reads a subscribed connection: `subscribe` confirms, each `message` is yielded, an error reply
/// or the connection's end finishes the stream; no confirmation within `timeout` closes it.
final class RESPSubscriptionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let replies: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private let timeout: TimeAmount
    private let continuation: AsyncStream<String>.Continuation
    private let confirmed: SubscriptionConfirmation
    private var timer: Scheduled<Void>?

    init(maximumReplyLength: Int, timeout: TimeAmount, continuation: AsyncStream<String>.Continuation, confirmed: SubscriptionConfirmation) {
        replies = NIOSingleStepByteToMessageProcessor(RESPDecoder(parser: RESPParser(maximumLength: maximumReplyLength)))
        self.timeout = timeout
        self.continuation = continuation
        self.confirmed = confirmed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.settle(.failure(RedisError.unavailable("the server did not confirm the subscription")))
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try replies.process(buffer: unwrapInboundIn(data)) { value in
                switch value {
                case .error(let message):
                    settle(.failure(RedisError.unavailable("the subscription was refused: \(message)")))
                    context.close(promise: nil)
                case .array(let parts) where parts.count == 3 && parts[0].string == "message":
                    if let payload = parts[2].string { continuation.yield(payload) }
                case .array(let parts) where parts.first?.string == "subscribe":
                    settle(.success(()))
                default:
                    break  // AUTH's +OK
                }
            }
        } catch {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.failure(RedisError.connectionLost("closed before the subscription was confirmed")))
        continuation.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        settle(.failure(RedisError.connectionLost("closed before the subscription was confirmed")))
        continuation.finish()
    }

    private func settle(_ result: Result<Void, any Error>) {
        timer?.cancel()
        confirmed.settle(result)
    }
}

/// The subscription's confirmation, completed once whoever comes first (the reply, the timer, the
/// connection's end, a failed connect).
final class SubscriptionConfirmation: Sendable {
    let promise: EventLoopPromise<Void>
    private let done = LockedValue(false)

    init(_ promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func settle(_ result: Result<Void, any Error>) {
        guard done.withLock({ done in defer { done = true }; return !done }) else { return }
        promise.completeWith(result)
    }
}
