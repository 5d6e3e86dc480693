import BulwarkCore

/// The scripts Bulwark sends, assembled from `LuaSource`'s pieces, and the reading of their replies.
enum RedisScripts {
    /// The module each module is built on (`setmetatable(…, {__index = …})`), whose source comes first.
    private static let base = ["leakyBucketShaper": "gcra", "segmentedWindow": "slidingWindowLog"]

    /// Every module, each after the one it is built on: what a chain or a budget may combine.
    private static let allModules = [
        "tokenBucket", "gcra", "leakyBucketShaper", "fixedWindow", "slidingWindowLog", "slidingWindowCounter",
        "segmentedWindow", "concurrency",
    ]
    private static let sources: [String: String] = [
        "tokenBucket": LuaSource.tokenBucket, "gcra": LuaSource.gcra, "leakyBucketShaper": LuaSource.leakyBucketShaper,
        "fixedWindow": LuaSource.fixedWindow, "slidingWindowLog": LuaSource.slidingWindowLog,
        "slidingWindowCounter": LuaSource.slidingWindowCounter, "segmentedWindow": LuaSource.segmentedWindow,
        "concurrency": LuaSource.concurrency,
    ]

    /// The chain and budget script: every module, a registry of them, the chain and budget drivers,
    /// and `return bw.chain(registry)` (`entry` "chain") or `bw.budget(registry)` ("budget").
    static func composite(_ entry: String) -> RedisScript {
        let registry = "local registry = {" + allModules.map { "\($0) = \($0)" }.joined(separator: ", ") + "}"
        let parts = [LuaSource.prelude] + allModules.map { sources[$0]! } + [LuaSource.chain, LuaSource.budget, registry]
        return RedisScript(parts.joined(separator: "\n") + "\nreturn bw.\(entry)(registry)\n")
    }

    /// One limiter's decision script: the prelude, the module and `bw.single`.
    static func single(_ module: String) -> RedisScript {
        let parts = [LuaSource.prelude] + (base[module].map { [sources[$0]!] } ?? []) + [sources[module]!]
        return RedisScript(parts.joined(separator: "\n") + "\nreturn bw.single(\(module))\n")
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
