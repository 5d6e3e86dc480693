import BulwarkTestSupport
import Foundation
import Testing

/// README's example service (`Playgrounds/Service`), started as a process on a free port and
/// called by the clients its users have: wrk for the share of 429s under load, curl for the
/// headers and the bad input, Python's requests for `Retry-After` and the IETF fields.
///
/// The service limits each client IP to 10 requests a second (a bucket of 10, one back every
/// 100 ms) and each bearer token to 10,000 body bytes a minute. wrk comes from 127.0.0.1, curl
/// from 127.0.0.2 and Python from 127.0.0.3: three IPs, three buckets, so no client spends
/// another's requests. Nothing here asserts a speed: wrk's own duration is the yardstick.
///
/// A solo suite (`BULWARK_SOLO=1`): wrk holds both cores for its 10 s, and the Redis suites'
/// deadline checks beside it saw callers wait that long for a core.
@Suite(
    "bulwark-service, live: wrk, curl and Python's requests against the example", .serialized, .timeLimit(minutes: 4),
    .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1")
)
struct ServiceLiveTests {
    @Test("under wrk the per-IP limit admits exactly its rate; curl and requests read every header; bad input is answered, never logged")
    func live() async throws {
        let port = try #require(freeLoopbackPort())
        let server = try await LiveServer("bulwark-service", environment: ["PORT": "\(port)"], port: port)
        defer { server.stop() }
        let base = server.base

        // wrk, 10 s at 8 connections: the bucket's 10, then one request every 100 ms.
        let load = try await run("wrk", ["-t", "2", "-c", "8", "-d", "10s", "-H", "Authorization: Bearer load-key", "\(base)/v1/models"])
        let total = try #require(Self.figure(in: load, before: " requests in "))
        let seconds = try #require(Self.figure(in: load, after: " requests in ", unit: "s"))
        let refused = Self.figure(in: load, after: "Non-2xx or 3xx responses: ") ?? 0
        let admitted = Int(total) - Int(refused)
        let expected = 10 + 10 * seconds
        #expect(Double(admitted) <= expected + 1, "admitted \(admitted) of \(Int(total)) in \(seconds) s")
        #expect(Double(admitted) >= expected - 3, "admitted \(admitted) of \(Int(total)) in \(seconds) s")
        #expect(refused > 0)
        // Every refusal was the limiter's (a 429 counted by the service's own metrics, not a 5xx).
        let metrics = try await run("curl", ["-s", "\(base)/metrics"])
        let denied = try #require(Self.figure(in: metrics, after: #"bulwark_events_total{source="per-ip",event="limiter.denied"} "#), "\(metrics)")
        #expect(denied >= refused && denied <= refused + 8)

        // curl, from 127.0.0.2: an admitted call carries the figures of both limits.
        let curl = ["-s", "--interface", "127.0.0.2"]
        let echo = try await run("curl", curl + ["-i", "-X", "POST", "-H", "Authorization: Bearer curl-secret-key", "-d", "hello", "\(base)/v1/echo"])
        #expect(echo.hasPrefix("HTTP/1.1 200") && echo.hasSuffix("echo: hello"), "\(echo)")
        let headers = echo.lowercased()
        #expect(headers.contains(#"ratelimit: "tpm";r=9995;t=1, "ip";r=9;t=1"#), "\(echo)")
        #expect(headers.contains(#"ratelimit-policy: "tpm";q=10000;w=60;qu="tokens", "ip";q=10;w=1"#), "\(echo)")
        #expect(headers.contains("x-ratelimit-remaining-tokens: 9995") && headers.contains("x-ratelimit-remaining-requests: 9"))
        // Bad input: each answered as it should be.
        func status(_ arguments: [String]) async throws -> String {
            try await run("curl", curl + ["-o", "/dev/null", "-w", "%{http_code}"] + arguments + ["\(base)/v1/models"])
        }
        let big = String(repeating: "a", count: 10_000)
        #expect(try await status(["-H", "Authorization: Bearer \(big)"]) == "401")  // a 10 kB token is no key
        #expect(try await status(["-H", "Authorization: Bearer ", "-H", "X-Pad: \(big)"]) == "401")  // empty token, 10 kB header
        #expect(try await status(["-H", "Authorization: Bearer clé-secrète"]) == "401")  // not ASCII
        #expect(try await status(["-H", "Authorization: Bearer curl-secret-key", "-H", "Forwarded: for=;;by=\"[", "-H", "X-Pad: \(big)"]) == "200")
        // Python's requests, from 127.0.0.3: 6,000 bytes twice; the second is over the minute's
        // 10,000 and refused with the wait for 2,000 bytes (12 s at 10,000 a minute).
        let python = try await run("python3", ["-c", """
            import json, requests
            class From(requests.adapters.HTTPAdapter):
                def init_poolmanager(self, *args, **kwargs):
                    kwargs["source_address"] = ("127.0.0.3", 0)
                    super().init_poolmanager(*args, **kwargs)
            session = requests.Session()
            session.mount("http://", From())
            headers = {"Authorization": "Bearer python-secret-key"}
            first = session.post("\(base)/v1/echo", headers=headers, data="x" * 6000)
            second = session.post("\(base)/v1/echo", headers=headers, data="x" * 6000)
            # A fresh X-Forwarded-For on every request changes nothing: no proxy is trusted, so
            # the key is the peer, whose 10 are soon spent (it would pass forever otherwise).
            spoofed = [session.get("\(base)/v1/models", headers={**headers, "X-Forwarded-For": f"203.0.113.{i}"}).status_code
                       for i in range(20)]
            print(json.dumps({
                "spoofed": spoofed,
                "first": first.status_code, "second": second.status_code,
                "retryAfter": second.headers["Retry-After"], "retryAfterMs": second.headers["retry-after-ms"],
                "rateLimit": second.headers["RateLimit"], "remaining": second.headers["x-ratelimit-remaining-tokens"],
                "code": second.json()["error"]["code"],
            }))
            """])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(python.utf8)) as? [String: Any], "\(python)")
        #expect(answer["first"] as? Int == 200 && answer["second"] as? Int == 429, "\(python)")
        let retryAfter = try #require(Int(answer["retryAfter"] as? String ?? ""), "\(python)")
        let retryAfterMs = try #require(Int(answer["retryAfterMs"] as? String ?? ""), "\(python)")
        #expect((11 ... 12).contains(retryAfter) && retryAfterMs > (retryAfter - 1) * 1_000 && retryAfterMs <= retryAfter * 1_000, "\(python)")
        // 4,000 left, and what came back in the moments between the two calls (167 a second).
        let remaining = try #require(Int(answer["remaining"] as? String ?? ""), "\(python)")
        #expect((4_000 ..< 4_500).contains(remaining), "\(python)")
        #expect((answer["rateLimit"] as? String)?.hasPrefix(#""tpm";r=\#(remaining);t="#) == true, "\(python)")
        #expect(answer["code"] as? String == "rate_limited", "\(python)")
        #expect((answer["spoofed"] as? [Int])?.filter { $0 == 429 }.count ?? 0 >= 5, "\(python)")

        // Health and readiness; and no credential ever reached the log.
        #expect(try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/health/ready"]) == "200")
        let logged = server.output
        for secret in ["curl-secret-key", "python-secret-key", "load-key", "clé", big] {
            #expect(!logged.contains(secret))
        }
    }

    /// The number just before `marker` in `text` (`4521` of `4521 requests in`).
    static func figure(in text: String, before marker: String) -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        let digits = text[..<range.lowerBound].reversed().prefix { $0.isNumber || $0 == "." }
        return Double(String(digits.reversed()))
    }

    /// The number just after `marker` in `text`, before `unit` when one is given.
    static func figure(in text: String, after marker: String, unit: String = "") -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...]
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard unit.isEmpty || rest.dropFirst(digits.count).hasPrefix(unit) else { return nil }
        return Double(String(digits))
    }
}
