/// How urgent a call is, for waiting orders that serve urgent calls first.
///
/// Higher values are more urgent. The FIFO order ignores priority; priority orders serve the
/// most urgent waiter first. Any `Int` is a valid priority; the named levels are conventions.
///
///     var context = ResilienceContext(operationName: "chat")
///     context.priority = .high
public struct Priority: RawRepresentable, Comparable, Hashable, Sendable, CustomStringConvertible {
    /// The level; higher is more urgent.
    public var rawValue: Int

    /// Creates a priority with the given level.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Background work that may wait for everything else.
    public static let low = Priority(rawValue: -100)
    /// The default.
    public static let normal = Priority(rawValue: 0)
    /// Interactive work.
    public static let high = Priority(rawValue: 100)
    /// Work that must not wait behind anything else.
    public static let critical = Priority(rawValue: 200)

    /// Whether `lhs` is less urgent than `rhs`.
    public static func < (lhs: Priority, rhs: Priority) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The level's name when it has one, otherwise its number.
    public var description: String {
        switch self {
        case .low: "low"
        case .normal: "normal"
        case .high: "high"
        case .critical: "critical"
        default: "\(rawValue)"
        }
    }
}
