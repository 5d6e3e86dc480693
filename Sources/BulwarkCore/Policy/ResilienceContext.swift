/// What a policy knows about the call it guards.
///
/// Every policy's `execute` receives the context and hands it on to the operation, so one value
/// describes the call end to end: which operation it is, whose quota it uses, how urgent it is,
/// what it costs, by when it must start, which attempt this is, and whatever typed values the
/// application attaches (`subscript(_:)`).
///
///     var context = ResilienceContext(operationName: "chat.completions", partitionKey: apiKey)
///     context.cost = estimatedTokens
///     context.deadline = .after(.seconds(10))
///     let reply = try await limiter.execute(context) { _ in try await provider.chat(request) }
public struct ResilienceContext: Sendable {
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

    /// The longest a policy that waits may keep the call waiting, from when it reads its clock
    /// (see ``WaitOptions/maximumWait``); `nil` for no bound but ``deadline``. A pipeline's
    /// rate-limit stage sets it for the limiter it wraps.
    public var maximumWait: Duration?

    /// Further keys of the call by name (`"tenant"`, `"user"`, `"model"`), for limiters that are
    /// partitioned by something other than ``partitionKey``: a chain's tenant and user links read
    /// their keys here.
    public var tags: [String: String]

    /// Which attempt of the call this is, from 1. A retry or hedging policy hands the operation a
    /// context whose attempt counts up; every other policy passes it on unchanged.
    public var attempt: Int

    /// Typed values the application attaches, by key (see `subscript(_:)`).
    @usableFromInline var attributes: [ObjectIdentifier: any Sendable]

    /// Creates a context for one call.
    public init(
        operationName: String,
        partitionKey: String? = nil,
        priority: Priority = .normal,
        cost: Int = 1,
        deadline: Deadline? = nil,
        rejectEarly: Bool = false,
        tags: [String: String] = [:],
        attempt: Int = 1
    ) {
        self.operationName = operationName
        self.partitionKey = partitionKey
        self.priority = priority
        self.cost = cost
        self.deadline = deadline
        self.rejectEarly = rejectEarly
        self.maximumWait = nil
        self.tags = tags
        self.attempt = attempt
        self.attributes = [:]
    }

    /// Creates a context for one call (the former label of `init(operationName:…)`).
    @available(*, deprecated, renamed: "init(operationName:partitionKey:priority:cost:deadline:rejectEarly:tags:attempt:)")
    public init(
        operation: String, partitionKey: String? = nil, priority: Priority = .normal, cost: Int = 1,
        deadline: Deadline? = nil, rejectEarly: Bool = false, tags: [String: String] = [:], attempt: Int = 1
    ) {
        self.init(
            operationName: operation, partitionKey: partitionKey, priority: priority, cost: cost, deadline: deadline,
            rejectEarly: rejectEarly, tags: tags, attempt: attempt
        )
    }

    /// The value the application attached under `key`, or `nil`.
    ///
    ///     enum ModelKey: ResilienceAttributeKey { typealias Value = String }
    ///     context[ModelKey.self] = "gpt-4o"
    public subscript<Key: ResilienceAttributeKey>(_ key: Key.Type) -> Key.Value? {
        get { attributes[ObjectIdentifier(key)] as? Key.Value }
        set { attributes[ObjectIdentifier(key)] = newValue }
    }

    /// The waiting options this context asks for.
    public var waitOptions: WaitOptions {
        WaitOptions(deadline: deadline, priority: priority, partitionKey: partitionKey, rejectEarly: rejectEarly, maximumWait: maximumWait)
    }
}

/// The key of a typed value an application attaches to a ``ResilienceContext``.
///
/// The key is a type, so two modules cannot collide on a name, and the value comes back with its
/// type.
///
///     enum TenantTier: ResilienceAttributeKey { typealias Value = Int }
///     context[TenantTier.self] = 2
///     let tier = context[TenantTier.self] ?? 0
public protocol ResilienceAttributeKey {
    /// The type of the value stored under this key.
    associatedtype Value: Sendable
}
