public import BulwarkDegradation
public import BulwarkHealth
import BulwarkHTTP
import Foundation
public import Hummingbird
public import Prometheus

extension Router {
    /// `GET <prefix>/live`, always 200 while the process answers, and `GET <prefix>/ready`: 200
    /// when every dependency in `critical` is enabled, else 503; both with the checker's JSON
    /// report (`HealthReport`).
    @discardableResult
    public func addHealthRoutes<C: NanosecondClock>(
        _ health: HealthChecker<C>, critical: [String], prefix: RouterPath = "/health"
    ) -> Self {
        let group = self.group(prefix)
        group.get("live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"alive"}"#)))
        }
        group.get("ready") { _, _ in
            let ready = critical.allSatisfy { health.isEnabled($0) }
            let body = (try? JSONEncoder().encode(health.report())) ?? Data("{}".utf8)
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        return self
    }

    /// `GET <path>`: everything `registry` holds, in the Prometheus text format (written by
    /// swift-prometheus). Bootstrap swift-metrics with `PrometheusMetricsFactory(registry:)` (or
    /// give it to a `TelemetryObserver`) so that Bulwark's events land there.
    @discardableResult
    public func addMetricsRoute(_ registry: PrometheusCollectorRegistry, path: RouterPath = "/metrics") -> Self {
        get(path) { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(4_096)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        return self
    }

    /// The degradation controller over HTTP, behind `Authorization: Bearer <token>` (compared
    /// in constant time):
    /// - `GET <prefix>/degradation`: the report;
    /// - `PUT <prefix>/degradation/level` with body `normal`, `degraded`, `critical` or `auto`
    ///   (let the rules decide again);
    /// - `PUT <prefix>/features/{name}` with body `on`, `off` or `auto`.
    ///
    /// A missing or wrong token is 401, an unknown level, switch or feature 400 or 404, each with
    /// a JSON error; the token is never logged.
    ///
    /// - Throws: `BulwarkError.invalidConfiguration` for a token shorter than 16 characters.
    @discardableResult
    public func addDegradationRoutes<C: NanosecondClock>(
        _ controller: DegradationController<C>, token: String, prefix: RouterPath = "/admin"
    ) throws(BulwarkError) -> Self {
        guard token.utf8.count >= 16 else {
            throw .invalidConfiguration(field: "token", rule: "must be at least 16 characters")
        }
        let expected = Array(token.utf8)
        let group = self.group(prefix)
        @Sendable func authorised(_ request: Request) -> Bool {
            guard let value = request.headers[.authorization], value.hasPrefix("Bearer ") else { return false }
            return constantTimeEqual(Array(value.utf8.dropFirst(7)), expected)
        }
        @Sendable func refuse(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
            Response(HTTPErrorMapping.response(status: status, code: code, message: message))
        }
        @Sendable func report() -> Response {
            let body = (try? JSONEncoder().encode(controller.report())) ?? Data("{}".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        group.get("degradation") { request, _ in
            authorised(request) ? report() : refuse(.unauthorized, "unauthorized", "a valid admin token is required")
        }
        group.put("degradation/level") { request, _ in
            guard authorised(request) else { return refuse(.unauthorized, "unauthorized", "a valid admin token is required") }
            let text = String(buffer: try await request.body.collect(upTo: 64)).trimmingCharacters(in: .whitespacesAndNewlines)
            if text == "auto" {
                controller.force(nil)
            } else if let level = DegradationLevel.allCases.first(where: { "\($0)" == text }) {
                controller.force(level)
            } else {
                return refuse(.badRequest, "invalid_level", "the level must be normal, degraded, critical or auto")
            }
            return report()
        }
        group.put("features/:name") { request, context in
            guard authorised(request) else { return refuse(.unauthorized, "unauthorized", "a valid admin token is required") }
            let name = context.parameters.get("name") ?? ""
            let text = String(buffer: try await request.body.collect(upTo: 64)).trimmingCharacters(in: .whitespacesAndNewlines)
            let choice: FeatureOverride
            switch text {
            case "on": choice = .on
            case "off": choice = .off
            case "auto": choice = .automatic
            default: return refuse(.badRequest, "invalid_switch", "the switch must be on, off or auto")
            }
            do {
                try controller.override(name, choice)
            } catch {
                return refuse(.notFound, "unknown_feature", "no feature of that name")
            }
            return report()
        }
        return self
    }
}

/// Whether `a` equals `b`, in a time that depends on their lengths only.
package func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
    }
    return difference == 0
}
