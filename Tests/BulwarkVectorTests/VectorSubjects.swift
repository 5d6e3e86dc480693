import Bulwark

/// An algorithm with a vector file, and how that file's `config` becomes its configuration.
protocol VectorSubject: RateLimitAlgorithm {
    static var vectorFile: String { get }
    static func configuration(_ json: JSONValue) -> Configuration
}

extension TokenBucket: VectorSubject {
    static let vectorFile = "token-bucket"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(capacity: json["capacity"].int, refill: json["refillAmount"].int,
              every: .nanoseconds(json["refillPeriodNanoseconds"].int64), initialTokens: json["initialTokens"].optionalInt)
    }
}

extension LeakyBucketMeter: VectorSubject {
    static let vectorFile = "leaky-bucket-meter"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(capacity: json["capacity"].int, drain: json["drainAmount"].int,
              every: .nanoseconds(json["drainPeriodNanoseconds"].int64), initialLevel: json["initialLevel"].optionalInt)
    }
}

extension LeakyBucketShaper: VectorSubject {
    static let vectorFile = "leaky-bucket-shaper"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(rate: json["rate"].int, per: .nanoseconds(json["periodNanoseconds"].int64), maximumCost: json["maximumCost"].int)
    }
}

extension GCRA: VectorSubject {
    static let vectorFile = "gcra"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(rate: json["rate"].int, per: .nanoseconds(json["periodNanoseconds"].int64), burst: json["burst"].int)
    }
}

extension FixedWindow: VectorSubject {
    static let vectorFile = "fixed-window"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(limit: json["limit"].int, window: .nanoseconds(json["windowNanoseconds"].int64),
              epochNanoseconds: json["epochNanoseconds"].optionalInt64 ?? 0)
    }
}

extension SlidingWindowLog: VectorSubject {
    static let vectorFile = "sliding-window-log"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(limit: json["limit"].int, window: .nanoseconds(json["windowNanoseconds"].int64))
    }
}

extension SlidingWindowCounter: VectorSubject {
    static let vectorFile = "sliding-window-counter"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(limit: json["limit"].int, window: .nanoseconds(json["windowNanoseconds"].int64),
              epochNanoseconds: json["epochNanoseconds"].optionalInt64 ?? 0)
    }
}

extension SegmentedWindow: VectorSubject {
    static let vectorFile = "segmented-window"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(limit: json["limit"].int, window: .nanoseconds(json["windowNanoseconds"].int64),
              segments: json["segments"].int, epochNanoseconds: json["epochNanoseconds"].optionalInt64 ?? 0)
    }
}

extension ConcurrencyLimit: VectorSubject {
    static let vectorFile = "concurrency"
    static func configuration(_ json: JSONValue) -> Configuration {
        .init(limit: json["limit"].int)
    }
}
