import BulwarkAdmin
import BulwarkCore
import BulwarkHTTP
import Foundation
import HTTPTypes
import Hummingbird
import Logging

extension Gateway {
    /// The group quota's decision on a request of `key`, before its per-minute limits: admitted
    /// (with the call to finish after the reply, `nil` without quotas or while they are off), or
    /// the client's answer: 429 `quota_exceeded` until the period ends, or 503 while Redis cannot
    /// answer and the failure policy is `closed` (`open` admits the request uncounted).
    func checkQuota(_ key: GatewayConfiguration.Key) async -> Result<GroupQuotas.Call?, Refusal> {
        guard let quotas else { return .success(nil) }
        let identity = configuration.quotaIdentity(of: key)
        let decision: GroupQuotas.Decision
        do {
            decision = try await quotas.begin(identity)
        } catch {
            logger.warning("quota store unavailable", metadata: ["error": "\(error)"])
            if configuration.redis?.failure == "open" { return .success(nil) }
            return .failure(Refusal(response: OpenAIError.response(
                .serviceUnavailable, "The quota store is unavailable; try again shortly.", type: "server_error", code: "limiter_unavailable"
            )))
        }
        guard decision.isAllowed else {
            let usage = decision.usage
            let settings = quotas.current.settings
            let what =
                decision.refusedBy == .success
                ? "\(usage.successLimit) successful requests" : "\(usage.totalLimit) requests"
            let wait = decision.periodEndsInNanoseconds
            var headers = HTTPFields()
            headers[HTTPField.Name("x-bulwark-node")!] = node
            headers[HTTPField.Name("x-bulwark-quota")!] = "\(identity)"
            RateLimitHeaderWriter.writeRetryAfter(nanoseconds: wait, into: &headers)
            metrics.rateLimited(key: key.id, type: "quota")
            let message = "Quota reached for \(identity): \(what) per \(settings.periodMinutes) minutes. Please try again in \(String(format: "%.3f", Double(wait) / 1e9))s."
            return .failure(Refusal(response: OpenAIError.response(.tooManyRequests, message, type: "requests", code: "quota_exceeded", headers: headers)))
        }
        return .success(decision.call)
    }
}
