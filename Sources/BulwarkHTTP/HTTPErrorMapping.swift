public import BulwarkCore
public import HTTPTypes

/// The shape of an error response's JSON body.
public enum HTTPErrorBodyStyle: Sendable, Hashable {
    /// `{"error":{"type":"rate_limited","code":"rate_limited","message":"…"}}`: a type and code
    /// per refusal (see ``HTTPErrorMapping``).
    case bulwark
    /// OpenAI's: `{"error":{"message":"…","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
    /// which the `openai` client libraries read (`type` is the limit's unit).
    case openAI(unit: String)
}

/// The answer to a request a policy refused: a status, header fields and a JSON body.
public struct HTTPErrorResponse: Sendable {
    /// The status.
    public var status: HTTPResponse.Status
    /// `Content-Type: application/json`, and `Retry-After` / `retry-after-ms` when a wait is known.
    public var headerFields: HTTPFields
    /// The JSON body.
    public var body: String
}

/// Every `BulwarkError` as an HTTP answer, one documented map:
///
/// | Error | Status | `Retry-After` | code |
/// | --- | --- | --- | --- |
/// | `rateLimited(retryAfter:)` | 429 | the wait, rounded up | `rate_limited` |
/// | `queueFull` | 503 | 1 s | `queue_full` |
/// | `waitTimedOut` (the wait reached the request's deadline) | 503 | 1 s | `wait_timed_out` |
/// | `overloaded` (load shedding) | 503 | 1 s | `overloaded` |
/// | `circuitOpen(retryAfter:)` | 503 | the rest of the open time, if known | `circuit_open` |
/// | `unavailable(dependency:retryAfter:)` | 503 | the health checker's, if known | `dependency_unavailable` |
/// | `dependencyFailed` (a shared store could not answer) | 503 | none | `dependency_failed` |
/// | `shutDown` | 503 | none | `shutting_down` |
/// | `timedOut` | 504 | none | `timed_out` |
/// | `invalidArgument` (a request's cost above the limit) | 400 | none | `invalid_request` |
/// | `invalidConfiguration` | 500 | none | `internal_error` |
///
/// `Retry-After` is whole seconds rounded up, never 0; `retry-after-ms` goes with it.
public enum HTTPErrorMapping {
    /// The answer to `error`.
    public static func response(for error: BulwarkError, style: HTTPErrorBodyStyle = .bulwark) -> HTTPErrorResponse {
        let (status, wait, code): (HTTPResponse.Status, Duration?, String) =
            switch error {
            case .rateLimited(let retryAfter): (.tooManyRequests, retryAfter, "rate_limited")
            case .queueFull: (.serviceUnavailable, .seconds(1), "queue_full")
            case .waitTimedOut: (.serviceUnavailable, .seconds(1), "wait_timed_out")
            case .overloaded: (.serviceUnavailable, .seconds(1), "overloaded")
            case .circuitOpen(let retryAfter): (.serviceUnavailable, retryAfter, "circuit_open")
            case .unavailable(_, let retryAfter): (.serviceUnavailable, retryAfter, "dependency_unavailable")
            case .dependencyFailed: (.serviceUnavailable, nil, "dependency_failed")
            case .shutDown: (.serviceUnavailable, nil, "shutting_down")
            case .timedOut: (.gatewayTimeout, nil, "timed_out")
            case .invalidArgument: (.badRequest, nil, "invalid_request")
            case .invalidConfiguration: (.internalServerError, nil, "internal_error")
            }
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        if let wait { RateLimitHeaderWriter.writeRetryAfter(nanoseconds: wait.saturatingNanoseconds, into: &fields) }
        // A configuration error's details are for the operator's log, not the client.
        let message = if case .invalidConfiguration = error { "internal error" } else { error.description }
        let body: String =
            switch style {
            case .bulwark:
                #"{"error":{"type":"\#(code)","code":"\#(code)","message":\#(jsonStringLiteral(message))}}"#
            case .openAI(let unit):
                #"{"error":{"message":\#(jsonStringLiteral(message)),"type":\#(jsonStringLiteral(unit)),"param":null,"code":"\#(code == "rate_limited" ? "rate_limit_exceeded" : code)"}}"#
            }
        return HTTPErrorResponse(status: status, headerFields: fields, body: body)
    }

    /// A JSON error body for a refusal that is not a `BulwarkError` (a request with no key).
    public static func response(status: HTTPResponse.Status, code: String, message: String) -> HTTPErrorResponse {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return HTTPErrorResponse(
            status: status, headerFields: fields,
            body: #"{"error":{"type":"\#(code)","code":"\#(code)","message":\#(jsonStringLiteral(message))}}"#
        )
    }
}

/// `text` as a JSON string literal, safe inside a page too: `<` and the line separators U+2028
/// and U+2029 are escaped as well as quotes, backslashes and control characters, so that no
/// `</script>` ends a script that embeds it.
package func jsonStringLiteral(_ text: String) -> String {
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "<") || $0 == 0xE2 }) {
        return "\"" + text + "\""
    }
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "<" || scalar == "\u{2028}" || scalar == "\u{2029}":
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
