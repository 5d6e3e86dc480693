/// What a policy knows about the call it guards.
///
/// Every policy's `execute` receives the context and hands it on to the operation, so one value
/// describes the call end to end: which operation it is, whose quota it uses, how urgent it is,
/// what it costs and by when it must start.
///
///     var context = ResilienceContext(operation: "chat.completions", partitionKey: apiKey)
///     context.cost = estimatedTokens
///     context.deadline = .after(.seconds(10))
///     let reply = try await limiter.execute(context) { _ in try await provider.chat(request) }
public struct ResilienceContext: Sendable, Hashable {
    /// The name of the guarded operation, for logs, metrics and traces.
    public var operationName: String

    /// The partition the call belongs to (API key, user, tenant, model, IP), or `nil` for the
    /// shared partition. Partitioned limiters keep one state per key; fair orders share capacity
    /// between keys.
    public var partitionKey: String?

    /// How urgent the call is; used by priority waiting orders.
    public var priority: Priority

    /// What the call costs in the limiter's unit: 1 for a request, or a number of tokens.
    public var cost: Int

    /// The latest time by which the call must be admitted, or `nil` to wait as long as it takes.
    public var deadline: Deadline?

    /// Whether a policy that waits should refuse the call at once when its predicted wait ends
    /// after ``deadline`` (see ``WaitOptions/rejectEarly``).
    public var rejectEarly: Bool

    /// Further keys of the call by name (`"tenant"`, `"user"`, `"model"`), for limiters that are
    /// partitioned by something other than ``partitionKey``: a chain's tenant and user links read
    /// their keys here.
    public var tags: [String: String]

    /// Creates a context for one call.
    public init(
        operation operationName: String,
        partitionKey: String? = nil,
        priority: Priority = .normal,
        cost: Int = 1,
        deadline: Deadline? = nil,
        rejectEarly: Bool = false,
        tags: [String: String] = [:]
    ) {
        self.operationName = operationName
        self.partitionKey = partitionKey
        self.priority = priority
        self.cost = cost
        self.deadline = deadline
        self.rejectEarly = rejectEarly
        self.tags = tags
    }

    /// The waiting options this context asks for.
    public var waitOptions: WaitOptions {
        WaitOptions(deadline: deadline, priority: priority, partitionKey: partitionKey, rejectEarly: rejectEarly)
    }
}
