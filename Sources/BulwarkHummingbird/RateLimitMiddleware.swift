public import BulwarkChain
public import BulwarkEngine
public import BulwarkHTTP
public import BulwarkPartitioned
public import Hummingbird

/// What a middleware does with a request that has no key (no token, an unreadable one).
public enum MissingKeyAction: Sendable, Hashable {
    /// Answer 401 with a JSON error: the route needs the credential the key is made of.
    case reject
    /// Let the request through, unlimited by this middleware.
    case allow
}

/// Rate limits the requests through it: one decision per request, under the request's key, at
/// the request's cost; 429 with `Retry-After` and the configured header families when refused,
/// the same descriptive fields on the response when admitted.
///
/// Over a limiter, a partitioned limiter (each key its own limit) or a `RateLimitChain` (every
/// link's limit at once; the fields then describe the limiting link: the one that refused, or
/// the one with the fewest permits left). For a token budget reserved before the call and
/// settled after it, see ``TokenBudgetMiddleware``.
///
///     router.add(middleware: try RateLimitMiddleware(
///         limiter: PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(
///             configuration: .init(capacity: 60, every: .seconds(60)), maximumPartitions: 100_000
///         ),
///         key: .clientIP(trusting: TrustedProxies(["10.0.0.0/8"])),
///         policy: RateLimitPolicy(name: "rpm", quota: 60, window: .seconds(60))
///     ))
///
/// It never waits: a refused request is answered at once (a client told `Retry-After` waits on
/// its side). A limiter error (a cost above the limit, a shared store down under fail-closed) is
/// answered through `HTTPErrorMapping`.
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Takes `cost` under `key`: the decision.
    public typealias Acquire = @Sendable (_ key: String, _ cost: Int) async throws -> RateLimitDecision

    /// The decision and the index of the policy (in `headers`) that describes it.
    let decide: @Sendable (_ key: String, _ cost: Int) async throws -> (RateLimitDecision, Int)
    let key: RequestKey
    let cost: @Sendable (Request, Context) -> Int
    let headers: [RateLimitHeaderWriter]
    let missingKey: MissingKeyAction
    let errorBody: HTTPErrorBodyStyle

    /// A middleware over any decision: `acquire` is given each request's key and cost.
    ///
    /// - Parameters:
    ///   - key: How a request's key is read (`RequestKey`).
    ///   - policy: What the limit is, for the header fields.
    ///   - families: The header families sent (all by default).
    ///   - cost: A request's cost (1 by default; a body size or a token estimate).
    ///   - missingKey: What to do with a request that has no key.
    ///   - errorBody: The JSON shape of a refusal.
    ///   - acquire: The decision for a key and a cost.
    public init(
        key: RequestKey,
        policy: RateLimitPolicy,
        families: RateLimitHeaderFamilies = .all,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        missingKey: MissingKeyAction = .reject,
        errorBody: HTTPErrorBodyStyle = .bulwark,
        acquire: @escaping Acquire
    ) {
        self.init(
            key: key, headers: [RateLimitHeaderWriter(policy: policy, families: families)], cost: cost, missingKey: missingKey,
            errorBody: errorBody
        ) { key, cost in (try await acquire(key, cost), 0) }
    }

    /// Every stored property.
    private init(
        key: RequestKey,
        headers: [RateLimitHeaderWriter],
        cost: @escaping @Sendable (Request, Context) -> Int,
        missingKey: MissingKeyAction,
        errorBody: HTTPErrorBodyStyle,
        decide: @escaping @Sendable (_ key: String, _ cost: Int) async throws -> (RateLimitDecision, Int)
    ) {
        self.decide = decide
        self.key = key
        self.cost = cost
        self.headers = headers
        self.missingKey = missingKey
        self.errorBody = errorBody
    }

    /// A middleware over a chain: each request takes its cost from every link, all or nothing;
    /// a partitioned link finds the request's key in the context's `partitionKey`.
    ///
    /// - Parameters:
    ///   - chain: The links every request takes its cost from.
    ///   - key: How a request's key is read (`RequestKey`): the partitioned links' key.
    ///   - policies: One per link, in the chain's order: the fields describe the limiting link
    ///     with its policy.
    ///   - families: The header families sent (all by default).
    ///   - cost: A request's cost (1 by default).
    ///   - missingKey: What to do with a request that has no key.
    ///   - errorBody: The JSON shape of a refusal.
    /// - Throws: `BulwarkError.invalidConfiguration` when `policies` does not hold one policy
    ///   per link.
    public init<C: NanosecondClock>(
        chain: RateLimitChain<C>,
        key: RequestKey,
        policies: [RateLimitPolicy],
        families: RateLimitHeaderFamilies = .all,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        missingKey: MissingKeyAction = .reject,
        errorBody: HTTPErrorBodyStyle = .bulwark
    ) throws(BulwarkError) {
        guard policies.count == chain.links.count else {
            throw .invalidConfiguration(field: "policies", rule: "must hold one policy per link, \(chain.links.count) (got \(policies.count))")
        }
        self.init(
            key: key, headers: policies.map { RateLimitHeaderWriter(policy: $0, families: families) }, cost: cost,
            missingKey: missingKey, errorBody: errorBody
        ) { key, cost in
            let decision = try chain.tryAcquire(cost: cost, context: ResilienceContext(operationName: "http", partitionKey: key))
            return (decision.decision, decision.linkIndex)
        }
    }

    /// A middleware over a limiter partitioned by key: each key its own limit.
    public init<Algorithm: RateLimitAlgorithm, C: NanosecondClock>(
        limiter: PartitionedRateLimiter<String, Algorithm, C>,
        key: RequestKey,
        policy: RateLimitPolicy,
        families: RateLimitHeaderFamilies = .all,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        missingKey: MissingKeyAction = .reject,
        errorBody: HTTPErrorBodyStyle = .bulwark
    ) {
        self.init(key: key, policy: policy, families: families, cost: cost, missingKey: missingKey, errorBody: errorBody) { key, cost in
            try limiter.tryAcquire(key, cost: cost)
        }
    }

    /// A middleware over one limit shared by every request (the key still decides who is let
    /// through without one: use `RequestKey.route` to limit everyone).
    public init(
        limiter: any RateLimiter,
        key: RequestKey = .route,
        policy: RateLimitPolicy,
        families: RateLimitHeaderFamilies = .all,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        missingKey: MissingKeyAction = .reject,
        errorBody: HTTPErrorBodyStyle = .bulwark
    ) {
        self.init(key: key, policy: policy, families: families, cost: cost, missingKey: missingKey, errorBody: errorBody) { _, cost in
            try limiter.tryAcquire(cost: cost)
        }
    }

    /// Decides, then answers 429 or passes the request on and adds the fields to its response.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key = key.key(for: request, context: context) else {
            return missingKey == .allow ? try await next(request, context) : .missingKey
        }
        let (decision, policy): (RateLimitDecision, Int)
        do {
            (decision, policy) = try await decide(key, cost(request, context))
        } catch let error as BulwarkError {
            return Response(HTTPErrorMapping.response(for: error, style: errorBody))
        }
        guard decision.isAllowed else {
            return Response(refusal: decision, writer: headers[policy], style: errorBody)
        }
        var response = try await next(request, context)
        headers[policy].write(decision, into: &response.headers)
        return response
    }
}

extension RequestKey {
    /// The key of a Hummingbird request; the peer's address is resolved only for a key that
    /// reads it.
    func key(for request: Request, context: some RequestContext) -> String? {
        key(for: HTTPRequestInfo(head: request.head, peer: readsPeer ? context.peerAddress : nil, route: context.endpointPath))
    }
}

extension RequestContext {
    /// The peer's IP address, when the context records it (`RemoteAddressRequestContext`).
    var peerAddress: IPAddress? {
        guard let address = (self as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress else { return nil }
        return IPAddress(address)
    }
}

extension Response {
    /// The response for a refusal.
    init(_ error: HTTPErrorResponse) {
        self.init(status: error.status, headers: error.headerFields, body: ResponseBody(byteBuffer: ByteBuffer(string: error.body)))
    }

    /// 401 for a request without the credential its key is made of.
    static var missingKey: Response {
        Response(HTTPErrorMapping.response(status: .unauthorized, code: "missing_key", message: "the request has no credential this route is limited by"))
    }

    /// 429 for a refused decision, with the fields `writer` writes.
    init(refusal decision: RateLimitDecision, writer: RateLimitHeaderWriter, style: HTTPErrorBodyStyle) {
        self.init(HTTPErrorMapping.response(for: .rateLimited(retryAfter: decision.retryAfter), style: style))
        writer.write(decision, into: &headers)
    }
}
