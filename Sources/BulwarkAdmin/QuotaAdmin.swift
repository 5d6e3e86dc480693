public import BulwarkCore
import BulwarkHTTP
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore

/// The group quotas' admin page and API, for any Hummingbird service: mount it on a router of
/// its own, served on a listener bound to localhost (see the guide, docs/Admin.md).
///
///     let admin = try QuotaAdmin(quotas: quotas, tokens: [AdminToken(name: "ops", token: token)])
///     let router = Router(context: PeerRequestContext.self)
///     admin.addRoutes(to: router)
///
/// - `GET /admin`: the page (signed in), else a redirect to `GET /admin/login`.
/// - `POST /admin/login` (form field `token`), `POST /admin/logout` (field `csrf`).
/// - `POST /admin/quotas/form`: the page's form, without the script.
/// - `GET /admin/quotas`: `{"version", "settings"}` with `ETag: "<version>"`.
/// - `PUT /admin/quotas`: the settings as JSON, with `If-Match: "<version>"` (or `*`): 200 with
///   the new version, 400 naming the field and the rule, 412 when the version is stale (the body
///   says the current one), 428 without `If-Match`.
/// - `GET /admin/usage`, `GET /admin/audit`: what the page refreshes.
///
/// The API takes `Authorization: Bearer <token>`, or the page's session cookie with its CSRF
/// token in `X-CSRF-Token` for a change. A wrong token, at login or on the API, uses one of the
/// client address's ``failedLoginsPerMinute`` failures a minute (a sliding window of the
/// package's own limiter); with none left every attempt gets 429 until one leaves the window.
public struct QuotaAdmin: Sendable {
    /// The quotas it edits.
    public let quotas: GroupQuotas
    /// Failed logins allowed per client address per minute.
    public var failedLoginsPerMinute: Int { security.failedLoginsPerMinute }
    let security: AdminSecurity
    let node: String
    let secureCookies: Bool
    let groups: @Sendable () -> [String]

    /// The session cookie's name.
    static let cookie = "bulwark_admin"

    /// An admin for `quotas`.
    ///
    /// - Parameters:
    ///   - quotas: The quotas the page edits.
    ///   - tokens: The credentials; each one's name is the identity the audit log records.
    ///   - node: The name the page shows; by default the host's.
    ///   - secureCookies: Mark the session cookie `Secure` (set it when the page is served over
    ///     TLS, directly or by a proxy in front).
    ///   - sessionLifetime: How long a session lasts after its login.
    ///   - failedLoginsPerMinute: Wrong tokens allowed per client address in any minute.
    ///   - groups: More groups to show in the usage table than those with an override (the
    ///     groups the service's keys belong to).
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for no tokens, or a bad limit.
    public init(
        quotas: GroupQuotas,
        tokens: [AdminToken],
        node: String? = nil,
        secureCookies: Bool = false,
        sessionLifetime: Duration = .seconds(12 * 3_600),
        failedLoginsPerMinute: Int = 9,
        groups: @escaping @Sendable () -> [String] = { [] }
    ) throws(BulwarkError) {
        guard !tokens.isEmpty else { throw .invalidConfiguration(field: "admin.tokens", rule: "must name at least one token") }
        self.quotas = quotas
        self.security = try AdminSecurity(
            tokens: tokens, lifetime: sessionLifetime, failedLoginsPerMinute: failedLoginsPerMinute, redis: quotas.sessionStore
        )
        self.node = node ?? ProcessInfo.processInfo.hostName
        self.secureCookies = secureCookies
        self.groups = groups
    }

    /// Adds the routes under `/admin`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("admin/assets/admin.js") { _, _ in Self.asset(AdminPage.script, type: "text/javascript; charset=utf-8") }
        router.get("admin/assets/admin.css") { _, _ in Self.asset(AdminPage.style, type: "text/css; charset=utf-8") }
        router.get("admin/login") { _, _ in Self.html(.ok, AdminPage.login(error: nil)) }
        router.post("admin/login") { request, context in try await login(request, context) }
        router.post("admin/logout") { request, _ in try await logout(request) }
        router.get("admin") { request, _ in
            guard let (_, session) = await session(request) else { return Self.redirect("/admin/login") }
            let saved = request.uri.queryParameters["saved"].map { "Saved as version \($0)." }
            return await page(session, form: AdminPage.Form(quotas.current), message: saved.map { ($0, "ok") })
        }
        router.post("admin/quotas/form") { request, _ in try await postForm(request) }
        router.get("admin/quotas") { request, context in
            if let refusal = await authenticate(request, context, change: false).refusal { return refusal }
            let current = quotas.current
            return Self.json(.ok, #"{"version":\#(current.version),"settings":\#(current.settings.json)}"#, etag: current.version)
        }
        router.put("admin/quotas") { request, context in try await put(request, context) }
        router.get("admin/usage") { request, context in
            if let refusal = await authenticate(request, context, change: false).refusal { return refusal }
            return await usage()
        }
        router.get("admin/audit") { request, context in
            if let refusal = await authenticate(request, context, change: false).refusal { return refusal }
            let entries = (try? await quotas.audit(limit: 100)) ?? []
            return Self.json(.ok, "[" + entries.map(\.json).joined(separator: ",") + "]")
        }
    }

    // MARK: The API

    private func put<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        let (admin, refusal) = await authenticate(request, context, change: true)
        if let refusal { return refusal }
        guard let match = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces) else {
            return Self.error(.preconditionRequired, field: "If-Match", rule: "is required: the ETag of the version you read (GET /admin/quotas), or *")
        }
        let expected: Int?
        if match == "*" {
            expected = nil
        } else if let version = Int(match.trimmingCharacters(in: CharacterSet(charactersIn: "\"W/"))) {
            expected = version
        } else {
            return Self.error(.badRequest, field: "If-Match", rule: "must be an ETag such as \"7\", or *")
        }
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
        } catch {
            return Self.error(.contentTooLarge, field: "body", rule: "must be at most 1 MiB")
        }
        let settings: GroupQuotaSettings
        do {
            settings = try GroupQuotaSettings(json: body)
        } catch {
            guard case .invalidArgument(let field, let rule) = error else { throw error }
            return Self.error(.badRequest, field: field, rule: rule)
        }
        do {
            let saved = try await quotas.save(settings, expectedVersion: expected, by: admin ?? "")
            return Self.json(.ok, #"{"version":\#(saved.version),"settings":\#(saved.settings.json)}"#, etag: saved.version)
        } catch .conflict(let current) {
            return Self.json(
                .preconditionFailed,
                #"{"error":{"field":"If-Match","rule":"the settings changed since you read them: version \#(current) is current"},"current_version":\#(current)}"#,
                etag: current
            )
        } catch {
            return Self.error(.serviceUnavailable, field: "store", rule: error.description)
        }
    }

    private func usage() async -> Response {
        let current = quotas.current.settings
        let usages = await shownUsage(current)
        let minutes = await quotas.history()
        let ends = periodEnds(current)
        let rows = usages.map {
            #"{"name":\#(jsonStringLiteral(AdminPage.name($0.identity))),"total_used":\#($0.totalUsed),"total_limit":\#($0.totalLimit),"success_used":\#($0.successUsed),"success_limit":\#($0.successLimit)}"#
        }
        let chart = minutes.map { #"{"minute":\#($0.minute),"admitted":\#($0.admitted),"refused":\#($0.refused),"failed":\#($0.failed)}"# }
        return Self.json(
            .ok,
            #"{"version":\#(quotas.current.version),"groups":[\#(rows.joined(separator: ","))],"period_ends":\#(jsonStringLiteral(AdminPage.duration(ends))),"minutes":[\#(chart.joined(separator: ","))],"chart_summary":\#(jsonStringLiteral(AdminPage.chartSummary(minutes)))}"#
        )
    }

    /// The usage the page shows: the groups with an override and those `groups` names, 200 at most.
    private func shownUsage(_ settings: GroupQuotaSettings) async -> [GroupQuotas.Usage] {
        let names = Set(settings.groups.keys).union(groups()).sorted().prefix(200)
        return (try? await quotas.usage(of: names.map { .group($0) })) ?? []
    }

    /// Until the current period ends, by this node's clock.
    private func periodEnds(_ settings: GroupQuotaSettings) -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        return settings.periodNanoseconds - now % settings.periodNanoseconds
    }

    /// Who is asking: a bearer token, or a session (with its CSRF token for a change); else the
    /// response that refuses.
    private func authenticate<Context: RequestContext>(_ request: Request, _ context: Context, change: Bool) async -> (admin: String?, refusal: Response?) {
        if let field = request.headers[.authorization], field.lowercased().hasPrefix("bearer ") {
            switch security.verify(String(field.dropFirst(7)).trimmingCharacters(in: .whitespaces), from: Self.address(context)) {
            case .admitted(let name): return (name, nil)
            case .wrong: return (nil, Self.error(.unauthorized, field: "Authorization", rule: "the token is not an admin token"))
            case .limited(let wait): return (nil, Self.limited(wait))
            }
        }
        guard let (_, session) = await session(request) else {
            return (nil, Self.error(.unauthorized, field: "Authorization", rule: "sign in, or send an admin token as a Bearer token"))
        }
        if change, !AdminSecurity.csrfMatches(session, request.headers[HTTPField.Name("X-CSRF-Token")!]) {
            return (nil, Self.error(.forbidden, field: "X-CSRF-Token", rule: "must be the page's CSRF token"))
        }
        return (session.admin, nil)
    }

    // MARK: The page

    private func login<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        let fields = AdminPage.formFields(Array(buffer: try await request.body.collect(upTo: 64 << 10)))
        switch security.verify(fields["token"] ?? "", from: Self.address(context)) {
        case .admitted(let admin):
            guard let (id, _) = await security.open(for: admin) else {
                return Self.html(.serviceUnavailable, AdminPage.login(error: "The session store is unavailable; try again shortly."))
            }
            var response = Self.redirect("/admin")
            let lifetime = security.lifetime.components.seconds
            response.headers[.setCookie] = "\(Self.cookie)=\(id); Path=/admin; Max-Age=\(lifetime); HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
            return response
        case .wrong:
            return Self.html(.unauthorized, AdminPage.login(error: "That token is not an admin token."))
        case .limited(let wait):
            var response = Self.html(.tooManyRequests, AdminPage.login(error: "Too many wrong tokens from your address: try again in \(AdminPage.duration(wait))."))
            response.headers[.retryAfter] = String(wait.dividedRoundingUp(by: 1_000_000_000))
            return response
        }
    }

    private func logout(_ request: Request) async throws -> Response {
        let fields = AdminPage.formFields(Array(buffer: try await request.body.collect(upTo: 64 << 10)))
        if let (id, session) = await session(request), AdminSecurity.csrfMatches(session, fields["csrf"]) { await security.close(id) }
        var response = Self.redirect("/admin/login")
        response.headers[.setCookie] = "\(Self.cookie)=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
        return response
    }

    private func postForm(_ request: Request) async throws -> Response {
        guard let (_, session) = await session(request) else { return Self.redirect("/admin/login") }
        let fields = AdminPage.formFields(Array(buffer: try await request.body.collect(upTo: 1 << 20)))
        guard AdminSecurity.csrfMatches(session, fields["csrf"]) else {
            return Self.error(.forbidden, field: "csrf", rule: "must be the page's CSRF token")
        }
        var form = AdminPage.Form(quotas.current)
        form.version = Int(fields["version"] ?? "") ?? form.version
        guard let settings = AdminPage.settings(from: fields, into: &form) else {
            return await page(session, form: form, message: ("Not saved: a field breaks a rule (shown beside it).", "error"), status: .badRequest)
        }
        do {
            let saved = try await quotas.save(settings, expectedVersion: form.version, by: session.admin)
            return Self.redirect("/admin?saved=\(saved.version)")
        } catch .conflict(let current) {
            let text = "Not saved: someone else saved version \(current) since you opened this page (version \(form.version)). Reload the page to see their settings, then make your change again."
            return await page(session, form: form, message: (text, "error"), status: .conflict)
        } catch {
            return await page(session, form: form, message: ("Not saved: \(error)", "error"), status: .serviceUnavailable)
        }
    }

    private func page(_ session: AdminSecurity.Session, form: AdminPage.Form, message: (String, String)?, status: HTTPResponse.Status = .ok) async -> Response {
        let settings = quotas.current.settings
        let usage = await shownUsage(settings)
        let html = AdminPage.page(
            form: form, admin: session.admin, node: node, csrf: session.csrf, message: message.map { (text: $0.0, kind: $0.1) },
            usage: usage, periodEnds: periodEnds(settings), minutes: await quotas.history(), audit: (try? await quotas.audit(limit: 20)) ?? []
        )
        return Self.html(status, html)
    }

    /// The session the request's cookie names, with its id.
    private func session(_ request: Request) async -> (String, AdminSecurity.Session)? {
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == Self.cookie, let session = await security.session(String(parts[1])) { return (String(parts[1]), session) }
            }
        }
        return nil
    }

    // MARK: Responses

    static func address<Context: RequestContext>(_ context: Context) -> String {
        (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Every page and answer: not cached, not framed, scripts and styles from the page's origin only.
    static func headers(_ type: String) -> HTTPFields {
        [
            .contentType: type, .cacheControl: "no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ]
    }

    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: headers("text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ status: HTTPResponse.Status, _ text: String, etag: Int? = nil) -> Response {
        var fields = headers("application/json")
        if let etag { fields[.eTag] = "\"\(etag)\"" }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, field: String, rule: String) -> Response {
        var response = json(status, #"{"error":{"field":\#(jsonStringLiteral(field)),"rule":\#(jsonStringLiteral(rule))}}"#)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static func limited(_ wait: Int64) -> Response {
        var response = error(.tooManyRequests, field: "Authorization", rule: "too many wrong tokens from this address: try again in \(AdminPage.duration(wait))")
        response.headers[.retryAfter] = String(wait.dividedRoundingUp(by: 1_000_000_000))
        return response
    }

    static func redirect(_ location: String) -> Response {
        var fields = headers("text/plain; charset=utf-8")
        fields[.location] = location
        return Response(status: .seeOther, headers: fields)
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        var fields = headers(type)
        fields[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
