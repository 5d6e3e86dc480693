package import BulwarkRedisClient
package import BulwarkTestSupport
import NIOCore
import NIOPosix
import Testing

/// A TCP server on 127.0.0.1 that speaks just enough RESP to be mistaken for Redis, then
/// misbehaves as told. On its own event loop (SwiftNIO's `ServerBootstrap`): nothing of it blocks
/// a thread of Swift's concurrency pool.
package final class FakeRedisServer: Sendable {
    /// What the server does with a command.
    package enum Behaviour: Sendable, Equatable, CustomTestStringConvertible {
        /// Answers these bytes, verbatim but for `{port}`, which becomes the server's own port.
        case reply(String)
        /// Reads the command and never answers.
        case silent

        /// A bulk string's header whose length, Int64.max, overflowed the old parser's `length + 2`.
        package static let overflowingHeader = Behaviour.reply("$9223372036854775807\r\n")
        /// A type byte RESP does not have.
        package static let garbage = Behaviour.reply("?garbage\r\n")
        /// Half a bulk string, and then nothing.
        package static let halfReply = Behaviour.reply("$10\r\nabc")

        package var testDescription: String {
            switch self {
            case .reply(let bytes): "answers \(bytes.debugDescription)"
            case .silent: "never answers"
            }
        }
    }

    package let endpoint: RedisEndpoint
    /// How many client connections have closed.
    package let closedConnections: Counter
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    private init(endpoint: RedisEndpoint, closedConnections: Counter, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.endpoint = endpoint
        self.closedConnections = closedConnections
        self.group = group
        self.channel = channel
    }

    /// Listens on a free port. `HELLO` gets `-ERR unknown command` (so the client falls back to
    /// RESP2) and `PING` gets `+PONG`, and every other command `behaviour`; with `inHandshake`,
    /// `HELLO` already gets `behaviour`.
    package static func start(_ behaviour: Behaviour, inHandshake: Bool = false) async throws -> FakeRedisServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let closed = Counter()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FakeRedisHandler(behaviour: behaviour, inHandshake: inHandshake, closed: closed)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(channel.localAddress?.port)
        return FakeRedisServer(
            endpoint: RedisEndpoint(host: "127.0.0.1", port: port), closedConnections: closed, group: group, channel: channel
        )
    }

    /// Stops listening, closes every connection and the event loop.
    package func stop() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

/// One connection of ``FakeRedisServer``: reads commands (RESP arrays, with the client's own
/// parser) and answers each as its behaviour says.
private final class FakeRedisHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let behaviour: FakeRedisServer.Behaviour
    private let inHandshake: Bool
    private let closed: Counter
    private var parser = RESPParser()
    private var received = ByteBuffer()

    package init(behaviour: FakeRedisServer.Behaviour, inHandshake: Bool, closed: Counter) {
        self.behaviour = behaviour
        self.inHandshake = inHandshake
        self.closed = closed
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        while let command = try? parser.next(&received) {
            let name = command.array?.first?.string?.uppercased()
            let reply: String? =
                switch name {
                case "HELLO" where !inHandshake: "-ERR unknown command 'HELLO'\r\n"
                case "PING" where !inHandshake: "+PONG\r\n"
                default:
                    if case .reply(let bytes) = behaviour { bytes } else { nil }
                }
            if let reply {
                let port = context.channel.localAddress?.port.map(String.init) ?? "0"
                let bytes = reply.split(separator: "{port}", omittingEmptySubsequences: false).joined(separator: port)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)), promise: nil)
            }
        }
        received.discardReadBytes()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        closed.add(1)
        context.fireChannelInactive()
    }
}
