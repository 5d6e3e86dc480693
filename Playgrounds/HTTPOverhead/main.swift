// The server Benchmarks/http-overhead measures with wrk: one route twice, `/bare` and `/limited`
// behind the rate-limit middleware (a per-key token bucket that never runs dry, every header
// family, the bearer token hashed). `bulwark-http-overhead <port>`.
import BulwarkHummingbird
import BulwarkPartitioned
import BulwarkTokenBucket
import Hummingbird

let limiter = try PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(
    configuration: .init(capacity: 1_000_000_000_000, every: .seconds(1)), maximumPartitions: 100_000
)
let router = Router()
router.get("bare") { _, _ in #"{"data":[]}"# }
router.group("limited")
    .add(middleware: RateLimitMiddleware(limiter: limiter, key: .bearerToken, policy: try RateLimitPolicy(name: "rpm", quota: 1_000_000, window: .seconds(60))))
    .get { _, _ in #"{"data":[]}"# }
let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8080
try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port))).runService()
