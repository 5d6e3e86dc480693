import BulwarkCore
import BulwarkRedisClient
import Foundation

/// Provider header sync: when an upstream says it is out of requests or tokens (a reply with
/// `x-ratelimit-remaining-requests: 0` or `x-ratelimit-remaining-tokens: 0`, or a 429), no node
/// sends to it until the time it gave; a request for a model whose upstreams all cool off is
/// answered 429 at once with the rest of the wait, and is not counted against the key.
///
/// **The wait** is, in order: on a 429 or 503, `retry-after-ms`, else `retry-after` (seconds,
/// or an HTTP date); the `x-ratelimit-reset-requests|tokens` (Go durations, `6m0s`, `20ms`) of
/// a dimension whose remaining is 0, the longer of the two; else, for a 429 that says nothing,
/// one second. A wait above an hour is cut to an hour.
///
/// **Across nodes** (with Redis): the node that learns of a cooldown keeps it at once and writes
/// it into one Redis hash, `<prefix>:{cooldowns}` (`{<prefix>}:cooldowns` on a cluster), keeping the later end if one is there; every
/// node reads the hash every `cooldown_poll_ms` (250 ms by default) with one script call, which
/// answers each upstream's rest of the wait by Redis's clock (so node clocks need not agree). A
/// node thus learns of another's cooldown within one poll; until then it may send one request
/// the upstream refuses, and learns from that refusal itself. If Redis is down, each node keeps
/// the cooldowns it learnt itself.
final class UpstreamCooldowns: Sendable {
    /// Until when each upstream cools off, on this process's continuous clock (nanoseconds).
    private let until = LockedValue<[String: Int64]>([:])
    private let redis: RedisClient?
    private let hash: String
    private let clock = ContinuousClock()
    /// How often ``run()`` reads Redis.
    let interval: Duration

    /// The longest cooldown kept: an hour.
    static let longest: Int64 = 3_600_000_000_000

    /// Keeps cooldowns here and, with `redis`, in the hash `key`.
    init(redis: RedisClient?, key: String, interval: Duration) {
        self.redis = redis
        self.interval = interval
        hash = key
    }

    /// How long `upstream` still cools off, in nanoseconds; 0 when it may be called.
    func remaining(_ upstream: String) -> Int64 {
        let now = clock.nowNanoseconds
        return until.withLock { max(0, ($0[upstream] ?? 0) - now) }
    }

    /// Reads a reply's headers; when they say the upstream is out, keeps the cooldown here at once
    /// and shares it through Redis in the background. Returns the wait found, in nanoseconds (0
    /// when none).
    @discardableResult
    func observe(_ upstream: String, status: Int, headers: [(name: String, value: String)]) -> Int64 {
        guard let wait = Self.wait(status: status, headers: headers), wait > 0 else { return 0 }
        keep(upstream, wait: wait)
        if let redis {
            let hash = hash
            Task {
                _ = try? await redis.evaluate(
                    Self.share, keys: [hash], arguments: [upstream, String(min(wait, Self.longest).dividedRoundingUp(by: 1_000_000))],
                    timeout: .milliseconds(500)
                )
            }
        }
        return wait
    }

    /// Reads every node's cooldowns from Redis once.
    func poll() async {
        guard let redis, let reply = try? await redis.evaluate(Self.read, keys: [hash], arguments: [], timeout: .milliseconds(500)),
            let values = reply.array
        else { return }
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let milliseconds = values[index + 1].integer, milliseconds > 0 {
                keep(name, wait: milliseconds * 1_000_000)
            }
            index += 2
        }
    }

    /// Polls Redis every ``interval`` until cancelled; without Redis, waits for cancellation.
    func run() async throws {
        while !Task.isCancelled {
            await poll()
            try? await Task.sleep(for: redis == nil ? .seconds(3_600) : interval)
        }
    }

    private func keep(_ upstream: String, wait: Int64) {
        let end = clock.nowNanoseconds + min(wait, Self.longest)
        until.withLock { $0[upstream] = max($0[upstream] ?? 0, end) }
    }

    /// The wait a reply announces, in nanoseconds; `nil` when it says the upstream is not out.
    static func wait(status: Int, headers: [(name: String, value: String)]) -> Int64? {
        func field(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value.trimmingCharacters(in: .whitespaces)
        }
        if status == 429 || status == 503 {
            if let text = field("retry-after-ms"), let milliseconds = Double(text), milliseconds >= 0 {
                return Int64(min(milliseconds, 3.6e6) * 1e6)
            }
            if let text = field("retry-after") {
                if let seconds = Double(text), seconds >= 0 { return Int64(min(seconds, 3_600) * 1e9) }
                if let date = httpDate().date(from: text) { return Int64(max(0, min(date.timeIntervalSinceNow, 3_600)) * 1e9) }
            }
        }
        var wait: Int64?
        for unit in ["requests", "tokens"] where field("x-ratelimit-remaining-\(unit)") == "0" {
            let reset = field("x-ratelimit-reset-\(unit)").flatMap(goDuration) ?? 1_000_000_000
            wait = max(wait ?? 0, reset)
        }
        if let wait { return wait }
        return status == 429 ? 1_000_000_000 : nil
    }

    /// A Go duration as OpenAI writes `x-ratelimit-reset-*` (`1h2m3.5s`, `20ms`, `350µs`), in
    /// nanoseconds; `nil` when it is not one.
    static func goDuration(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 6e10), ("h", 3.6e12)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // The longest unit that matches: `ms` before `m`.
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total.isFinite && total <= 3.6e12 ? Int64(total) : longest
    }

    /// `Retry-After`'s HTTP date, `Sun, 06 Nov 1994 08:49:37 GMT`.
    private static func httpDate() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter
    }

    /// Keeps the later end of an upstream's cooldown: `HSET` of the end by Redis's clock, in ms.
    static let share = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local finish = now + tonumber(ARGV[2])
        local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
        if finish > old then redis.call('HSET', KEYS[1], ARGV[1], finish) end
        redis.call('PEXPIRE', KEYS[1], 3600000)
        return finish - now
        """)

    /// Each upstream still cooling off and the rest of its wait in ms, by Redis's clock; ended
    /// ones are removed.
    static let read = RedisScript("""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local all = redis.call('HGETALL', KEYS[1])
        local out = {}
        for i = 1, #all, 2 do
          local left = tonumber(all[i + 1]) - now
          if left > 0 then
            out[#out + 1] = all[i]
            out[#out + 1] = left
          else
            redis.call('HDEL', KEYS[1], all[i])
          end
        end
        return out
        """)
}
