public import Hummingbird
public import NIOCore

/// A request context that records the peer's address, so that `RequestKey.clientIP(trusting:)`
/// can key a request by its client: Hummingbird's `BasicRequestContext` does not keep it.
///
///     let router = Router(context: PeerRequestContext.self)
///
/// A service with a context of its own conforms it to `RemoteAddressRequestContext` instead.
public struct PeerRequestContext: RequestContext, RemoteAddressRequestContext {
    /// The framework's storage.
    public var coreContext: CoreRequestContextStorage
    /// The address the connection came from.
    public let remoteAddress: SocketAddress?

    /// A context for a request on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
