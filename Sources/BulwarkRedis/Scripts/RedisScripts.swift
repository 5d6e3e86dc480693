import BulwarkCore

/// The scripts Bulwark sends, assembled from the Lua sources beside this file, and the reading of
/// their replies.
///
/// The sources are the `.lua` files of `Sources/BulwarkRedis/Scripts`: `prelude.lua` (the clock,
/// exact integer arithmetic, key expiry and the `bw.single` driver), one module per algorithm
/// (`token-bucket.lua`, `gcra.lua`, `leaky-bucket-shaper.lua`, `fixed-window.lua`,
/// `sliding-window-log.lua`, `sliding-window-counter.lua`, `segmented-window.lua`,
/// `concurrency.lua`), and the drivers `chain.lua` and `budget.lua`. Each opens with a `--` comment
/// documenting its configuration, keys, fixed point and lifetime. Package.swift embeds them in the
/// code (`resources: [.embedInCode("Scripts/<file>.lua"), …]`), and SwiftPM generates
/// `PackageResources.<file>_lua`, the file's bytes, so nothing is read at run time. The script
/// sent is the code alone: each file's comment header and final newline are dropped.
///
/// `scripts/lua-script <module | chain | budget>` prints a script exactly as assembled here, to run
/// by `redis-cli --eval`; `scripts/check-lua` compiles every file and script with `luac5.1` and runs
/// each single-limiter script against a Redis server.
enum RedisScripts {
    /// The module each module is built on (`setmetatable(…, {__index = …})`), whose source comes first.
    private static let base = ["leakyBucketShaper": "gcra", "segmentedWindow": "slidingWindowLog"]

    /// Every module, each after the one it is built on: what a chain or a budget may combine.
    private static let allModules = [
        "tokenBucket", "gcra", "leakyBucketShaper", "fixedWindow", "slidingWindowLog", "slidingWindowCounter",
        "segmentedWindow", "concurrency",
    ]
    private static let prelude = lua(PackageResources.prelude_lua)
    private static let chain = lua(PackageResources.chain_lua)
    private static let budget = lua(PackageResources.budget_lua)
    private static let sources: [String: String] = [
        "tokenBucket": lua(PackageResources.token_bucket_lua), "gcra": lua(PackageResources.gcra_lua),
        "leakyBucketShaper": lua(PackageResources.leaky_bucket_shaper_lua),
        "fixedWindow": lua(PackageResources.fixed_window_lua),
        "slidingWindowLog": lua(PackageResources.sliding_window_log_lua),
        "slidingWindowCounter": lua(PackageResources.sliding_window_counter_lua),
        "segmentedWindow": lua(PackageResources.segmented_window_lua),
        "concurrency": lua(PackageResources.concurrency_lua),
    ]

    /// A file's code: its bytes without the comment header at its top (it is for readers: the
    /// script Redis receives, and its SHA1, are the code alone) and without the newline that ends
    /// the file.
    private static func lua(_ file: [UInt8]) -> String {
        var lines = String(decoding: file, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        while let first = lines.first, first.hasPrefix("--") { lines.removeFirst() }
        var text = lines.joined(separator: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// The chain and budget script: every module, a registry of them, the chain and budget drivers,
    /// and `return bw.chain(registry)` (`entry` "chain") or `bw.budget(registry)` ("budget").
    static func composite(_ entry: String) -> RedisScript {
        let registry = "local registry = {" + allModules.map { "\($0) = \($0)" }.joined(separator: ", ") + "}"
        let parts = [prelude] + allModules.map { sources[$0]! } + [chain, budget, registry]
        return RedisScript(parts.joined(separator: "\n") + "\nreturn bw.\(entry)(registry)\n")
    }

    /// One limiter's decision script: the prelude, the module and `bw.single`.
    static func single(_ module: String) -> RedisScript {
        let parts = [prelude] + (base[module].map { [sources[$0]!] } ?? []) + [sources[module]!]
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
