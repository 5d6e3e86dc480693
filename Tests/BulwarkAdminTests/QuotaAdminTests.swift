import BulwarkAdmin
import BulwarkCore
import BulwarkHummingbird
import BulwarkRedisClient
import BulwarkRedisTestSupport
import BulwarkTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("The admin page and API over HTTP: sign-in, sessions, CSRF, versions, escaping, the login limit")
struct QuotaAdminTests {
    static let token = "admin-token-0123456789"

    /// An admin on a live listener, and its quotas.
    static func withAdmin(_ body: @Sendable (any TestClientProtocol, GroupQuotas) async throws -> Void) async throws {
        let quotas = try await GroupQuotas.inMemory(
            initial: GroupQuotaSettings(total: 100, success: 50, groups: ["<script>alert(1)</script>": .init(total: 3, success: 2)]),
            file: temporaryFile()
        )
        let admin = try QuotaAdmin(quotas: quotas, tokens: [AdminToken(name: "ops", token: token)], node: "test", groups: { ["free"] })
        let router = Router(context: PeerRequestContext.self)
        admin.addRoutes(to: router)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await body(client, quotas)
        }
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    /// Signs in; the session cookie and the page's CSRF token.
    static func signIn(_ client: any TestClientProtocol) async throws -> (cookie: String, csrf: String) {
        let response = try await client.execute(
            uri: "/admin/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "token=\(token)")
        )
        #expect(response.status == .seeOther && response.headers[.location] == "/admin")
        let cookie = try #require(response.headers[.setCookie])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
        let pair = String(cookie.split(separator: ";")[0])
        let page = try await client.execute(uri: "/admin", method: .get, headers: [.cookie: pair])
        #expect(page.status == .ok)
        let html = text(page)
        let csrf = try #require(html.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/)?.1)
        return (pair, String(csrf))
    }

    @Test("signed out: the page redirects, the API is 401; a wrong token is 401 and the tenth wrong one in a minute is 429")
    func signInAndLimit() async throws {
        try await Self.withAdmin { client, _ in
            #expect(try await client.execute(uri: "/admin", method: .get).headers[.location] == "/admin/login")
            #expect(try await client.execute(uri: "/admin/quotas", method: .get).status == .unauthorized)
            for attempt in 1...9 {
                let response = try await client.execute(
                    uri: "/admin/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=wrong-\(attempt)")
                )
                #expect(response.status == .unauthorized, "attempt \(attempt)")
                #expect(Self.text(response).contains("That token is not an admin token."))
            }
            let tenth = try await client.execute(
                uri: "/admin/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=\(Self.token)")
            )
            #expect(tenth.status == .tooManyRequests, "even the right token, once the address is locked out")
            #expect(Int(tenth.headers[.retryAfter] ?? "") ?? 0 > 0)
            let bearer = try await client.execute(uri: "/admin/quotas", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(bearer.status == .tooManyRequests, "the API shares the limit")
        }
    }

    @Test("the page escapes every value: a group named with markup shows as text")
    func escaping() async throws {
        try await Self.withAdmin { client, _ in
            let (cookie, _) = try await Self.signIn(client)
            let html = Self.text(try await client.execute(uri: "/admin", method: .get, headers: [.cookie: cookie]))
            #expect(!html.contains("<script>alert(1)</script>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!html.contains("nil") && !html.contains("aria-invalid"), "no field is marked before a save")
            let page = try await client.execute(uri: "/admin", method: .get, headers: [.cookie: cookie])
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let usage = Self.text(try await client.execute(uri: "/admin/usage", method: .get, headers: [.cookie: cookie]))
            #expect(usage.contains(#""name":"\u003cscript>alert(1)\u003c/script>""#) && usage.contains(#""name":"free""#))
        }
    }

    @Test("PUT: If-Match required (428), a stale version refused (412), a broken rule named (400), the CSRF token required with a session (403)")
    func putRules() async throws {
        try await Self.withAdmin { client, quotas in
            let auth: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
            let get = try await client.execute(uri: "/admin/quotas", method: .get, headers: auth)
            #expect(get.headers[.eTag] == "\"1\"")
            let body = #"{"enabled":true,"groups":{"gold":[3,2]},"period_minutes":60,"success":50,"total":100}"#
            var headers = auth
            #expect(try await client.execute(uri: "/admin/quotas", method: .put, headers: headers, body: ByteBuffer(string: body)).status == .preconditionRequired)
            headers[.ifMatch] = "\"1\""
            let saved = try await client.execute(uri: "/admin/quotas", method: .put, headers: headers, body: ByteBuffer(string: body))
            #expect(saved.status == .ok && saved.headers[.eTag] == "\"2\"")
            #expect(quotas.current.settings.groups == ["gold": .init(total: 3, success: 2)])
            let stale = try await client.execute(uri: "/admin/quotas", method: .put, headers: headers, body: ByteBuffer(string: body))
            #expect(stale.status == .preconditionFailed && Self.text(stale).contains(#""current_version":2"#))
            headers[.ifMatch] = "\"2\""
            let zero = try await client.execute(
                uri: "/admin/quotas", method: .put, headers: headers, body: ByteBuffer(string: body.replacingOccurrences(of: "\"success\":50", with: "\"success\":0"))
            )
            #expect(zero.status == .badRequest && Self.text(zero).contains(#""field":"success""#) && Self.text(zero).contains("from 1 to"))
            // With the session instead of a bearer token, a change needs the CSRF token.
            let (cookie, csrf) = try await Self.signIn(client)
            var session: HTTPFields = [.cookie: cookie, .contentType: "application/json", .ifMatch: "*"]
            #expect(try await client.execute(uri: "/admin/quotas", method: .put, headers: session, body: ByteBuffer(string: body)).status == .forbidden)
            session[HTTPField.Name("X-CSRF-Token")!] = csrf
            #expect(try await client.execute(uri: "/admin/quotas", method: .put, headers: session, body: ByteBuffer(string: body)).status == .ok)
            let audit = Self.text(try await client.execute(uri: "/admin/audit", method: .get, headers: auth))
            #expect(audit.contains(#""admin":"ops""#) && audit.contains(#""version":3"#))
        }
    }

    @Test("the form without the script: errors shown beside their field, a save redirects, a stale one is a conflict")
    func form() async throws {
        try await Self.withAdmin { client, quotas in
            let (cookie, csrf) = try await Self.signIn(client)
            let headers: HTTPFields = [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"]
            func post(_ fields: String) async throws -> TestResponse {
                try await client.execute(uri: "/admin/quotas/form", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(csrf)&" + fields))
            }
            let refused = try await post("version=1&enabled=on&period_minutes=60&total=100&success=0&g0_name=gold&g0_total=3&g0_success=2")
            #expect(refused.status == .badRequest)
            let html = Self.text(refused)
            #expect(html.contains(#"<p class="field-error" id="success-error">must be a whole number from 1 to 1000000000</p>"#))
            #expect(html.contains(#"aria-describedby="success-hint success-error" aria-invalid="true""#))
            let saved = try await post("version=1&enabled=on&period_minutes=30&total=100&success=50&g0_name=gold&g0_total=3&g0_success=2&g1_name=&g1_total=&g1_success=")
            #expect(saved.status == .seeOther && saved.headers[.location] == "/admin?saved=2")
            #expect(quotas.current.settings == GroupQuotaSettings(periodMinutes: 30, total: 100, success: 50, groups: ["gold": .init(total: 3, success: 2)]))
            let stale = try await post("version=1&enabled=on&period_minutes=30&total=100&success=50")
            #expect(stale.status == .conflict && Self.text(stale).contains("someone else saved version 2"))
            let badGroup = try await post("version=2&enabled=on&period_minutes=30&total=100&success=50&g0_name=gold&g0_total=x&g0_success=2")
            #expect(Self.text(badGroup).contains(#"id="g0_total-error">must be a whole number</p>"#))
            let forged = try await client.execute(
                uri: "/admin/quotas/form", method: .post, headers: headers, body: ByteBuffer(string: "csrf=0000&version=2&period_minutes=1&total=1&success=1")
            )
            #expect(forged.status == .forbidden)
        }
    }
}

@Suite("The admin page on Redis: one sign-in serves every node's page")
struct SharedSessionTests {
    @Test("a session opened on node a's page serves node b's; signing out on b ends it on a")
    func shared() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        let prefix = uniquePrefix()
        var bases: [String] = []
        var stops: [@Sendable () async -> Void] = []
        for _ in 0..<2 {
            let quotas = try await GroupQuotas.onRedis(initial: GroupQuotaSettings(), client: client, prefix: prefix, timeout: patience)
            let admin = try QuotaAdmin(quotas: quotas, tokens: [AdminToken(name: "ops", token: QuotaAdminTests.token)])
            let router = Router(context: PeerRequestContext.self)
            admin.addRoutes(to: router)
            let port = try #require(freeLoopbackPort())
            let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            let task = Task { try await application.runService() }
            stops.append { task.cancel() }
            bases.append("http://127.0.0.1:\(port)")
        }
        defer { for stop in stops { Task { await stop() } } }
        func curl(_ arguments: [String]) async throws -> String {
            try await run("curl", ["-s", "--retry", "20", "--retry-connrefused", "--retry-delay", "1"] + arguments)
        }
        let jar = FileManager.default.temporaryDirectory.appendingPathComponent("jar-\(UUID().uuidString)").path
        _ = try await curl(["-c", jar, "-d", "token=\(QuotaAdminTests.token)", "\(bases[0])/admin/login"])
        let page = try await curl(["-b", jar, "\(bases[1])/admin"])
        #expect(page.contains("Signed in as <strong>ops</strong>"), "node b knows node a's session")
        let csrf = try #require(page.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/)?.1)
        _ = try await curl(["-b", jar, "-d", "csrf=\(csrf)", "\(bases[1])/admin/logout"])
        let after = try await curl(["-b", jar, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "\(bases[0])/admin"])
        #expect(after.hasPrefix("303") && after.hasSuffix("/admin/login"), "\(after)")
        await client.shutdown()
    }
}

@Suite("GroupQuotaMiddleware: the quotas around any Hummingbird route")
struct GroupQuotaMiddlewareTests {
    @Test("a 5xx or a thrown error gives the success unit back; the success quota refuses with the period's wait")
    func middleware() async throws {
        let quotas = try await GroupQuotas.inMemory(initial: GroupQuotaSettings(total: 4, success: 2), file: temporaryFile())
        let router = Router()
        router.add(middleware: GroupQuotaMiddleware(quotas: quotas) { request, _ in
            request.headers[HTTPField.Name("X-Team")!].map { .group($0) }
        })
        router.get("ok") { _, _ in "ok" }
        router.get("fail") { _, _ in Response(status: .internalServerError) }
        router.get("throw") { _, _ -> String in throw HTTPError(.badGateway) }
        try await Application(router: router).test(.router) { client in
            let team: HTTPFields = [HTTPField.Name("X-Team")!: "red"]
            #expect(try await client.execute(uri: "/fail", method: .get, headers: team).status == .internalServerError)
            #expect(try await client.execute(uri: "/throw", method: .get, headers: team).status == .badGateway)
            #expect(try await client.execute(uri: "/ok", method: .get, headers: team).status == .ok)
            #expect(try await client.execute(uri: "/ok", method: .get, headers: team).status == .ok)
            let refused = try await client.execute(uri: "/ok", method: .get, headers: team)
            #expect(refused.status == .tooManyRequests && Int(refused.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(String(buffer: refused.body).contains(#""limit":"success""#), "both used up (4 of 4, 2 of 2): the success quota is checked first")
            #expect(try await client.execute(uri: "/ok", method: .get).status == .ok, "no identity: not counted")
        }
        let usage = try await quotas.usage(of: [.group("red")])[0]
        #expect(usage.totalUsed == 4 && usage.successUsed == 2)
    }
}
