public import BulwarkCore
public import HTTPTypes
import RawStructuredFieldValues

/// The header families a rate-limited response can carry; which ones are sent is configuration.
///
/// - ``retryAfter``: `Retry-After` (RFC 9110) in whole seconds, rounded up and never 0 while the
///   request is refused, and `retry-after-ms` in whole milliseconds, rounded up (the header
///   OpenAI's and Azure's clients read): on refusals only.
/// - ``ietf``: `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), written
///   as structured fields (RFC 9651) with swift-http-structured-headers: on every response.
/// - ``openAI``: `x-ratelimit-limit-<unit>`, `x-ratelimit-remaining-<unit>` and
///   `x-ratelimit-reset-<unit>` (its duration format: `6m0s`, `1.5s`, `20ms`): on every response.
public struct RateLimitHeaderFamilies: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: Int

    /// Creates a set from its bits.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// `Retry-After` and `retry-after-ms` on a refusal.
    public static let retryAfter = RateLimitHeaderFamilies(rawValue: 1)
    /// The IETF `RateLimit-Policy` and `RateLimit` fields.
    public static let ietf = RateLimitHeaderFamilies(rawValue: 2)
    /// OpenAI's `x-ratelimit-*` fields.
    public static let openAI = RateLimitHeaderFamilies(rawValue: 4)
    /// Every family.
    public static let all: RateLimitHeaderFamilies = [.retryAfter, .ietf, .openAI]
}

/// What a limit is, for the headers that describe it: a name, a quota per window, and what it
/// counts.
///
///     let policy = try RateLimitPolicy(name: "rpm", quota: 60, window: .seconds(60))
public struct RateLimitPolicy: Sendable, Hashable {
    /// The policy's name: the IETF fields' item, e.g. `"rpm"`.
    public var name: String
    /// How much the window allows (the limiter's limit: a bucket's capacity, a window's limit).
    public var quota: Int
    /// The window the quota is for, in whole seconds as the IETF `w` parameter has it; `nil` when
    /// the limit has no window (a concurrency limit), and then `RateLimit-Policy` is not sent.
    public var window: Duration?
    /// What the quota counts: `"requests"` or `"tokens"` (OpenAI's suffix). The IETF `qu`
    /// parameter is sent for units other than requests (`"tokens"` as is).
    public var unit: String

    /// Creates a policy.
    ///
    /// - Throws: `BulwarkError.invalidConfiguration` for an empty or non-token name (the IETF
    ///   field is an sf-string: printable ASCII), a quota below 1, a window not positive, or a unit
    ///   other than lowercase letters.
    public init(name: String, quota: Int, window: Duration?, unit: String = "requests") throws(BulwarkError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw .invalidConfiguration(field: "name", rule: "must be printable ASCII, not empty (got \"\(name)\")")
        }
        guard quota >= 1 else { throw .invalidConfiguration(field: "quota", rule: "must be at least 1 (got \(quota))") }
        if let window, window <= .zero {
            throw .invalidConfiguration(field: "window", rule: "must be positive (got \(window))")
        }
        guard !unit.isEmpty, unit.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            throw .invalidConfiguration(field: "unit", rule: "must be lowercase letters (got \"\(unit)\")")
        }
        self.name = name
        self.quota = quota
        self.window = window
        self.unit = unit
    }
}

extension HTTPField.Name {
    /// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
    public static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    /// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
    public static let rateLimit = HTTPField.Name("RateLimit")!
    /// `retry-after-ms`: the wait in milliseconds, as OpenAI's and Azure's clients read it.
    public static let retryAfterMilliseconds = HTTPField.Name("retry-after-ms")!
}

/// Writes a decision's figures into response header fields, exactly: what remains, when the
/// limit is full again, how long to wait.
///
/// What does not change from one response to the next is made once, at creation: the
/// `RateLimit-Policy` value, the policy's name as a structured-field string (both serialized by
/// swift-http-structured-headers), OpenAI's field names and the quota. A response then only
/// appends the decision's integers, which RFC 9651 writes as plain decimals.
public struct RateLimitHeaderWriter: Sendable {
    /// The limit the fields describe.
    public let policy: RateLimitPolicy
    /// The families sent.
    public let families: RateLimitHeaderFamilies
    /// The `RateLimit-Policy` member, `nil` without a window.
    private let policyMember: String?
    /// The policy's name as an sf-string (`"rpm"`), the start of each `RateLimit` member.
    private let name: String
    /// OpenAI's three field names for the policy's unit, and the quota as text.
    private let limitField, remainingField, resetField: HTTPField.Name
    private let quota: String

    /// A writer of `families` for `policy`.
    public init(policy: RateLimitPolicy, families: RateLimitHeaderFamilies = .all) {
        self.policy = policy
        self.families = families
        policyMember = Self.ietfPolicy(policy)
        name = Self.serialize(name: policy.name, OrderedMap()) ?? "\"\""
        // A unit is lowercase letters (RateLimitPolicy checks it), so each name is a valid token.
        limitField = HTTPField.Name("x-ratelimit-limit-\(policy.unit)")!
        remainingField = HTTPField.Name("x-ratelimit-remaining-\(policy.unit)")!
        resetField = HTTPField.Name("x-ratelimit-reset-\(policy.unit)")!
        quota = String(policy.quota)
    }

    /// Adds the fields for `decision`: the descriptive ones always, `Retry-After` and
    /// `retry-after-ms` when it refused.
    ///
    /// The IETF fields are lists: a second limit on the same response (a per-IP limit around a
    /// per-key budget) adds its member to them, `"tpm";r=4000;t=36, "ip";r=8;t=1`, as the draft
    /// has it. Each OpenAI field names its unit, so limits of different units sit side by side.
    public func write(_ decision: RateLimitDecision, into fields: inout HTTPFields) {
        if families.contains(.ietf) {
            if let policyMember { Self.append(policyMember, to: .rateLimitPolicy, in: &fields) }
            Self.append(Self.rateLimitMember(name: name, decision), to: .rateLimit, in: &fields)
        }
        if families.contains(.openAI) {
            fields[limitField] = quota
            fields[remainingField] = String(decision.remaining)
            fields[resetField] = Self.goDuration(nanoseconds: decision.resetAfterNanoseconds)
        }
        if families.contains(.retryAfter), !decision.isAllowed {
            Self.writeRetryAfter(nanoseconds: decision.retryAfterNanoseconds, into: &fields)
        }
    }

    /// `Retry-After` in whole seconds rounded up, at least 1, and `retry-after-ms` in whole
    /// milliseconds rounded up, at least 1: a refused client is never told to retry at once.
    public static func writeRetryAfter(nanoseconds: Int64, into fields: inout HTTPFields) {
        let wait = max(1, nanoseconds)
        fields[.retryAfter] = String(wait.dividedRoundingUp(by: 1_000_000_000))
        fields[.retryAfterMilliseconds] = String(wait.dividedRoundingUp(by: 1_000_000))
    }

    /// `"<name>";q=<quota>;w=<seconds>` (and `;qu="tokens"` for a unit other than requests), or
    /// `nil` for a policy without a window.
    public static func ietfPolicy(_ policy: RateLimitPolicy) -> String? {
        guard let window = policy.window else { return nil }
        var parameters = OrderedMap<String, RFC9651BareItem>()
        parameters["q"] = .integer(min(Int64(policy.quota), sfIntegerMaximum))
        parameters["w"] = .integer(window.saturatingNanoseconds.dividedRoundingUp(by: 1_000_000_000))
        if policy.unit != "requests" { parameters["qu"] = .string(policy.unit) }
        return serialize(name: policy.name, parameters)
    }

    /// `"<name>";r=<remaining>;t=<seconds until full>`, the reset rounded up to whole seconds.
    public static func ietfRateLimit(_ policy: RateLimitPolicy, _ decision: RateLimitDecision) -> String {
        rateLimitMember(name: serialize(name: policy.name, OrderedMap()) ?? "\"\"", decision)
    }

    /// A `RateLimit` member from the serialized name and the decision's integers.
    private static func rateLimitMember(name: String, _ decision: RateLimitDecision) -> String {
        // RFC 9651 integers have at most 15 digits.
        let remaining = min(Int64(decision.remaining), sfIntegerMaximum)
        let reset = min(max(0, decision.resetAfterNanoseconds).dividedRoundingUp(by: 1_000_000_000), sfIntegerMaximum)
        return name + ";r=" + String(remaining) + ";t=" + String(reset)
    }

    /// Adds `member` to the list field `name`.
    private static func append(_ member: String, to name: HTTPField.Name, in fields: inout HTTPFields) {
        if let existing = fields[name], !existing.isEmpty {
            fields[name] = existing + ", " + member
        } else {
            fields[name] = member
        }
    }

    /// One list member: the name as an sf-string with `parameters`.
    private static func serialize(name: String, _ parameters: OrderedMap<String, RFC9651BareItem>) -> String? {
        var serializer = StructuredFieldValueSerializer()
        let item = Item(bareItem: .string(name), parameters: parameters)
        guard let bytes = try? serializer.writeListFieldValue([.item(item)]) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A duration as OpenAI's `x-ratelimit-reset-*` fields write it (Go's `time.Duration`
    /// format): `0s`, `20ms`, `1.5s`, `6m0s`, `1h0m0s`; below a second in `ms`, `µs` or `ns` with
    /// a decimal fraction, exact to the nanosecond, trailing zeros dropped.
    public static func goDuration(nanoseconds: Int64) -> String {
        guard nanoseconds > 0 else { return "0s" }
        func fraction(_ value: Int64, _ unit: Int64) -> String {
            let whole = value / unit
            var rest = value % unit
            guard rest > 0 else { return String(whole) }
            var digits = ""
            var scale = unit / 10
            while rest > 0 {
                digits.append(Character(String(rest / scale)))
                rest %= scale
                scale /= 10
            }
            return "\(whole).\(digits)"
        }
        if nanoseconds < 1_000 { return "\(nanoseconds)ns" }
        if nanoseconds < 1_000_000 { return fraction(nanoseconds, 1_000) + "µs" }
        if nanoseconds < 1_000_000_000 { return fraction(nanoseconds, 1_000_000) + "ms" }
        let hours = nanoseconds / 3_600_000_000_000
        let minutes = nanoseconds % 3_600_000_000_000 / 60_000_000_000
        let seconds = fraction(nanoseconds % 60_000_000_000, 1_000_000_000) + "s"
        if hours > 0 { return "\(hours)h\(minutes)m\(seconds)" }
        if minutes > 0 { return "\(minutes)m\(seconds)" }
        return seconds
    }
}

/// The largest integer a structured field holds (RFC 9651: at most 15 digits).
private let sfIntegerMaximum: Int64 = 999_999_999_999_999
