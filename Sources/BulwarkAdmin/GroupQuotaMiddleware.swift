import BulwarkCore
import BulwarkHTTP
import HTTPTypes
public import Hummingbird
import NIOCore

/// Group quotas around any Hummingbird route: each request is decided by ``GroupQuotas`` for the
/// identity `identity` gives (`nil`: not counted), and after the handler a response `isSuccess`
/// accepts (2xx by default) keeps its success unit; a thrown error or another status gives it
/// back.
///
///     router.add(middleware: GroupQuotaMiddleware(quotas: quotas) { request, _ in
///         request.headers[.init("X-Team")!].map { .group($0) }
///     })
///
/// A refused request gets 429 with `Retry-After` and `retry-after-ms` (the rest of the period)
/// and a JSON body naming the quota; while Redis cannot answer, the error is thrown (the
/// service's error mapping answers it, 503 with `BulwarkHTTP`'s).
public struct GroupQuotaMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The quotas decided.
    public let quotas: GroupQuotas
    private let identity: @Sendable (Request, Context) -> QuotaIdentity?
    private let isSuccess: @Sendable (Response) -> Bool

    /// A middleware counting each request against `identity`'s quotas.
    public init(
        quotas: GroupQuotas,
        isSuccess: @escaping @Sendable (Response) -> Bool = { (200..<300).contains($0.status.code) },
        identity: @escaping @Sendable (Request, Context) -> QuotaIdentity?
    ) {
        self.quotas = quotas
        self.identity = identity
        self.isSuccess = isSuccess
    }

    /// Decides, runs the handler when admitted, and reports its outcome.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let identity = identity(request, context) else { return try await next(request, context) }
        let decision = try await quotas.begin(identity)
        guard decision.isAllowed else {
            var fields: HTTPFields = [.contentType: "application/json"]
            RateLimitHeaderWriter.writeRetryAfter(nanoseconds: decision.periodEndsInNanoseconds, into: &fields)
            let limit = decision.refusedBy == .success ? decision.usage.successLimit : decision.usage.totalLimit
            let body = #"{"error":{"quota":\#(jsonStringLiteral("\(identity)")),"limit":\#(jsonStringLiteral(decision.refusedBy?.rawValue ?? "")),"per_period":\#(limit)}}"#
            return Response(status: .tooManyRequests, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        guard let call = decision.call else { return try await next(request, context) }
        do {
            let response = try await next(request, context)
            await quotas.finish(call, succeeded: isSuccess(response))
            return response
        } catch {
            await quotas.finish(call, succeeded: false)
            throw error
        }
    }
}
