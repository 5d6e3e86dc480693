// The rate-limit middleware in process: the same handler bare and behind the middleware (a
// per-key token bucket, every header family), and its two parts alone (the key's SHA-256, the
// header fields). The difference of the first two is the middleware's cost per request; the
// service-level figure (wrk at 64 connections) is Benchmarks/http-overhead's.
import Benchmark
import BenchmarkSupport
import BulwarkHummingbird
import BulwarkPartitioned
import BulwarkTokenBucket
import Hummingbird
import Logging

/// A context made without a channel: what a middleware sees, minus the network (the bearer key
/// needs no peer address).
struct BenchmarkContext: RequestContext {
    struct Source: RequestContextSource {
        var logger: Logger
    }
    var coreContext: CoreRequestContextStorage
    init(source: Source) { coreContext = .init(source: source) }
}

let context = BenchmarkContext(source: .init(logger: Logger(label: "benchmark")))
let request = Request(
    head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/v1/models", headerFields: [
        .authorization: "Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz", .userAgent: "wrk",
    ]),
    body: RequestBody(buffer: ByteBuffer())
)
let info = HTTPRequestInfo(head: request.head, peer: nil, route: "/v1/models")
let policy = try! RateLimitPolicy(name: "rpm", quota: 1_000_000_000, window: .seconds(60))

/// The route's handler: a small JSON answer.
@Sendable func handler(_ request: Request, _ context: BenchmarkContext) async throws -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"data":[]}"#)))
}

/// A per-key bucket that never runs dry (`admitting`), or one that is always empty.
func middleware(admitting: Bool, key: RequestKey = .bearerToken, families: RateLimitHeaderFamilies = .all) throws -> RateLimitMiddleware<BenchmarkContext> {
    let bucket: TokenBucket.Configuration = admitting
        ? .init(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1))
        : .init(capacity: 1, refill: 1, every: .seconds(3_600), initialTokens: 0)
    let limiter = try PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(configuration: bucket, maximumPartitions: 1_000)
    return RateLimitMiddleware(limiter: limiter, key: key, policy: policy, families: families)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: standardMetrics, timeUnits: .nanoseconds, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000
    )

    Benchmark("HTTP: the handler alone (baseline)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await handler(request, context).status)
        }
    }

    Benchmark("HTTP: RateLimitMiddleware, admitted (bearer key hashed, every family)") { benchmark in
        let limit = try middleware(admitting: true)
        for _ in benchmark.scaledIterations {
            blackHole(try await limit.handle(request, context: context, next: handler).status)
        }
    }

    Benchmark("HTTP: RateLimitMiddleware, admitted, no header family") { benchmark in
        let limit = try middleware(admitting: true, families: [])
        for _ in benchmark.scaledIterations {
            blackHole(try await limit.handle(request, context: context, next: handler).status)
        }
    }

    Benchmark("HTTP: RateLimitMiddleware, admitted, the route as key, no header family") { benchmark in
        let limit = try middleware(admitting: true, key: .route, families: [])
        for _ in benchmark.scaledIterations {
            blackHole(try await limit.handle(request, context: context, next: handler).status)
        }
    }

    Benchmark("HTTP: RateLimitMiddleware, refused (429 with its JSON body)") { benchmark in
        let limit = try middleware(admitting: false)
        for _ in benchmark.scaledIterations {
            blackHole(try await limit.handle(request, context: context, next: handler).status)
        }
    }

    Benchmark("HTTP: the route key alone") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RequestKey.route.key(for: info))
        }
    }

    Benchmark("HTTP: the per-key decision alone (partitioned token bucket)") { benchmark in
        let limiter = try PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(
            configuration: .init(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1)), maximumPartitions: 1_000
        )
        let key = "route:GET /v1/models"
        for _ in benchmark.scaledIterations {
            blackHole(try limiter.tryAcquire(key).isAllowed)
        }
    }

    Benchmark("HTTP: the bearer key alone (SHA-256, hex)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RequestKey.bearerToken.key(for: info))
        }
    }

    Benchmark("HTTP: the header fields alone (IETF structured fields, OpenAI's, on an admitted decision)") { benchmark in
        let writer = RateLimitHeaderWriter(policy: policy)
        let decision = RateLimitDecision(isAllowed: true, limit: 1_000, remaining: 998, retryAfterNanoseconds: 0, resetAfterNanoseconds: 120_000_000)
        for _ in benchmark.scaledIterations {
            var fields = HTTPFields()
            writer.write(decision, into: &fields)
            blackHole(fields.count)
        }
    }
}
