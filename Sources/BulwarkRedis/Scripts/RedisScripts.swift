import BulwarkCore

/// The scripts Bulwark sends, assembled from ``LuaSource``'s pieces, and the reading of their replies.
enum RedisScripts {
    /// Each module's source; one built on another (`setmetatable(…, {__index = …})`) carries that
    /// one's source first.
    private static let modules: [String: String] = [
        "tokenBucket": LuaSource.tokenBucket, "gcra": LuaSource.gcra, "fixedWindow": LuaSource.fixedWindow,
        "slidingWindowLog": LuaSource.slidingWindowLog, "slidingWindowCounter": LuaSource.slidingWindowCounter,
        "segmentedWindow": LuaSource.slidingWindowLog + "\n" + LuaSource.segmentedWindow,
        "leakyBucketShaper": LuaSource.gcra + "\n" + LuaSource.leakyBucketShaper, "concurrency": LuaSource.concurrency,
    ]

    /// One limiter's decision script: the prelude, the module and `bw.single`.
    static func single(_ module: String) -> RedisScript {
        RedisScript(LuaSource.prelude + "\n" + modules[module]! + "\nreturn bw.single(\(module))\n")
    }

    /// Reads `bw.single`'s reply: allowed, remaining, retryAfter, resetAfter (-1: never), second, T.
    static func decision(_ reply: RESPValue, limit: Int) throws(RedisError) -> RedisDecision {
        guard let values = reply.array, values.count == 6 else {
            throw .protocolViolation("a script reply of an unexpected shape: \(reply)")
        }
        var numbers = [Int64]()
        for value in values {
            guard let number = value.integer else { throw .protocolViolation("a script reply of an unexpected shape: \(reply)") }
            numbers.append(number)
        }
        func duration(_ value: Int64) -> Int64 { value < 0 ? .max : value }
        let decision = RateLimitDecision(
            isAllowed: numbers[0] == 1, limit: limit, remaining: numbers[1],
            retryAfterNanoseconds: duration(numbers[2]), resetAfterNanoseconds: duration(numbers[3])
        )
        return RedisDecision(decision: decision, source: .redis, admission: RedisAdmission(second: numbers[4], nanoseconds: numbers[5]))
    }
}
