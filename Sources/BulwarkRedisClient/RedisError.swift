/// Why a Redis command did not give a reply.
///
/// What matters to a limiter is whether the command may have run: ``isUncertain`` says so. A
/// command that was never sent certainly did not run; one that was sent and then lost its reply (a
/// deadline, a dropped connection) may have run, so a decision it carried is *uncertain*: it is
/// neither counted as allowed nor as denied, and the limiter's failure policy decides.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply that is about the command (`ERR …`, `WRONGTYPE …`,
    /// `NOSCRIPT …`): a bug to see, which no failure policy hides.
    case server(String)
    /// Redis could not serve the command, which did not run: no connection could be made
    /// (refused, unreachable, connect timeout, backing off after such a failure), or the server
    /// refused it for now with one of the replies ``isUnavailableReply(_:)`` names (`BUSY`,
    /// `LOADING`, `MASTERDOWN`, `READONLY`, `CLUSTERDOWN`, `TRYAGAIN`, and a `MOVED` or `ASK` the
    /// client does not follow). A limiter's failure policy decides.
    case unavailable(String)
    /// The command was sent but its deadline passed before the reply: it may have run.
    case timedOut
    /// The connection closed after the command was sent and before its reply: it may have run.
    case connectionLost(String)
    /// The server sent bytes that are not RESP, or a reply of an unexpected shape.
    case protocolViolation(String)
    /// The client was shut down.
    case shutDown

    /// Whether the command may have run although no reply says so.
    public var isUncertain: Bool {
        switch self {
        case .timedOut, .connectionLost, .protocolViolation: true
        case .server, .unavailable, .shutDown: false
        }
    }

    /// The error for an error reply: ``unavailable(_:)`` when the reply says the server cannot
    /// serve now (see ``isUnavailableReply(_:)``), ``server(_:)`` otherwise.
    public static func reply(_ message: String) -> RedisError {
        isUnavailableReply(message) ? .unavailable("the server refused the command: \(message)") : .server(message)
    }

    /// Whether an error reply means "Redis cannot serve now" rather than "this command is wrong":
    /// `BUSY` (a script or function runs too long), `LOADING` (a restart reading its data),
    /// `MASTERDOWN` (a replica that lost its master), `READONLY` (a replica, as after a failover),
    /// `CLUSTERDOWN`, `TRYAGAIN` (a slot mid-migration), `MOVED` and `ASK` (a redirect the client
    /// does not or no longer follows). The command did not run.
    public static func isUnavailableReply(_ message: String) -> Bool {
        let kind = message.prefix { $0 != " " }
        return ["BUSY", "LOADING", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK"].contains(kind)
    }

    /// The first word of a server error (`NOSCRIPT`, `MOVED`, `ASK`, `ERR`…); `nil` for others.
    public var serverErrorKind: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .server(let message): "Redis error: \(message)"
        case .unavailable(let reason): "Redis unavailable: \(reason)"
        case .timedOut: "Redis command timed out (it may have run)"
        case .connectionLost(let reason): "Redis connection lost (the command may have run): \(reason)"
        case .protocolViolation(let reason): "Redis protocol violation: \(reason)"
        case .shutDown: "Redis client shut down"
        }
    }
}
