public import BulwarkAdaptive
public import BulwarkConcurrency
public import BulwarkHTTP
public import Hummingbird
import Synchronization

/// Runs each request through a policy (a `Pipeline`: timeout, retry, breaker, fallback…) and
/// answers a refusal through `HTTPErrorMapping` (429, 503 with `Retry-After`, 504…).
///
///     router.add(middleware: PolicyMiddleware(Pipeline { Timeout(.seconds(30)); breaker }))
///
/// The policy sees the handler's call, which ends when the handler returns its response: a
/// permit taken inside the policy is given back before a streamed body is written. To hold a
/// concurrency permit until the whole body is out, use ``ConcurrencyMiddleware``.
public struct PolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: any ResiliencePolicy
    let errorBody: HTTPErrorBodyStyle
    let context: @Sendable (Request, Context) -> ResilienceContext

    /// A middleware running requests through `policy`; each call's context names the route and
    /// carries cost 1 unless `context` says otherwise.
    public init(
        _ policy: any ResiliencePolicy,
        errorBody: HTTPErrorBodyStyle = .bulwark,
        context: @escaping @Sendable (Request, Context) -> ResilienceContext = { request, context in
            ResilienceContext(operationName: "\(request.method.rawValue) \(context.endpointPath ?? request.uri.path)")
        }
    ) {
        self.policy = policy
        self.errorBody = errorBody
        self.context = context
    }

    /// Runs the rest of the chain inside the policy.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let call = self.context(request, context)
        // `next` is neither escaping nor Sendable; the policy calls it before `execute` returns,
        // once per attempt.
        return try await withoutActuallyEscaping(next) { next in
            let box = UncheckedSendable(next)
            do {
                return try await policy.execute(call) { _ in UncheckedSendable(try await box.value(request, context)) }.value
            } catch let error as BulwarkError {
                return Response(HTTPErrorMapping.response(for: error, style: errorBody))
            }
        }
    }
}

/// Holds a concurrency permit for a request until its response body has been written (or the
/// client went away), not only until the handler returned: a streamed answer counts against the
/// limit for as long as it streams. A full bulkhead (queue full, or the wait past the request's
/// deadline) is answered 503 with `Retry-After`.
///
///     router.add(middleware: ConcurrencyMiddleware(bulkhead: try Bulkhead(limit: 64)))
public struct ConcurrencyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Takes a permit of `cost`: the function that gives it back, told whether the call succeeded.
    public typealias Acquire = @Sendable (_ cost: Int) async throws -> @Sendable (_ succeeded: Bool) -> Void

    let acquire: Acquire
    let cost: @Sendable (Request, Context) -> Int
    let errorBody: HTTPErrorBodyStyle

    /// A middleware over any permit: `acquire` takes one and returns how to give it back.
    public init(
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        errorBody: HTTPErrorBodyStyle = .bulwark,
        acquire: @escaping Acquire
    ) {
        self.acquire = acquire
        self.cost = cost
        self.errorBody = errorBody
    }

    /// A middleware over a bulkhead: waits in its queue as the bulkhead's options say.
    public init<C: NanosecondClock>(
        bulkhead: Bulkhead<C>,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        errorBody: HTTPErrorBodyStyle = .bulwark
    ) {
        self.init(cost: cost, errorBody: errorBody) { cost in
            let permit = PermitHolder(try await bulkhead.acquirePermit(cost: cost), abandoned: false) { permit, _ in permit.release() }
            return { _ in permit.release(true) }
        }
    }

    /// A middleware over an adaptive bulkhead: the call's latency runs until the body is written,
    /// and a 5xx answer or a failed write counts as a failure for its estimator.
    public init<Estimator: AdaptiveLimit, C: NanosecondClock>(
        bulkhead: AdaptiveBulkhead<Estimator, C>,
        cost: @escaping @Sendable (Request, Context) -> Int = { _, _ in 1 },
        errorBody: HTTPErrorBodyStyle = .bulwark
    ) {
        self.init(cost: cost, errorBody: errorBody) { cost in
            let permit = PermitHolder(try await bulkhead.acquirePermit(cost: cost), abandoned: false) { (permit: consuming AdaptivePermit, succeeded: Bool) in
                permit.complete(succeeded ? AdaptiveOutcome.success : AdaptiveOutcome.dropped)
            }
            return { succeeded in permit.release(succeeded) }
        }
    }

    /// Takes the permit, runs the handler, and gives the permit back once the body is written.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let release: @Sendable (Bool) -> Void
        do {
            release = try await acquire(cost(request, context))
        } catch let error as BulwarkError {
            return Response(HTTPErrorMapping.response(for: error, style: errorBody))
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            release(false)
            throw error
        }
        let succeeded = response.status.code < 500
        response.finishingBody { written in release(written && succeeded) }
        return response
    }
}

/// A permit given back exactly once, with the call's outcome: by the body's end, or, when the
/// response is dropped before its body is written, with `abandoned` when the last reference goes
/// (so no path leaks it).
package final class PermitHolder<Permit: ~Copyable, Outcome: Sendable>: @unchecked Sendable {
    private var permit: Permit?
    private let give: (consuming Permit, Outcome) -> Void
    private let abandoned: Outcome
    private let released = Atomic<Bool>(false)

    package init(_ permit: consuming Permit, abandoned: Outcome, _ give: @escaping (consuming Permit, Outcome) -> Void) {
        self.permit = consume permit
        self.abandoned = abandoned
        self.give = give
    }

    /// Gives the permit back with `outcome`, the first time only.
    package func release(_ outcome: Outcome) {
        guard released.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged,
              let permit = permit.take()
        else { return }
        give(permit, outcome)
    }

    deinit {
        release(abandoned)
    }
}

extension Response {
    /// Calls `finished` once the body has been written (`true`) or its writing failed (`false`).
    mutating func finishingBody(_ finished: @escaping @Sendable (_ written: Bool) -> Void) {
        let body = self.body
        self.body = ResponseBody(contentLength: body.contentLength) { writer in
            do {
                try await body.write(writer)
                finished(true)
            } catch {
                finished(false)
                throw error
            }
        }
    }
}

/// A value moved across an isolation boundary whose use stays on one task.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
