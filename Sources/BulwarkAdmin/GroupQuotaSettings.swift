public import BulwarkCore
import BulwarkHTTP
import Foundation

/// What the admin page edits: quotas per period on **all requests** and on **successful requests**,
/// global values and per-group overrides.
///
///     {"enabled": true, "period_minutes": 60, "total": 1000, "success": 500,
///      "groups": {"gold": [3, 2]}}
///
/// A group's override `[total, success]` wins over the global values. `total` 0 means no limit on
/// all requests; `success` is at least 1. The rules are ``validate()``'s, and the page checks the
/// same ones, with the same bounds, before it sends.
public struct GroupQuotaSettings: Sendable, Hashable {
    /// One group's override: its limits on all requests and on successful requests per period.
    public struct Limits: Sendable, Hashable {
        /// All requests per period; 0 is no limit.
        public var total: Int
        /// Successful requests per period; at least 1.
        public var success: Int

        /// Creates a pair of limits.
        public init(total: Int, success: Int) {
            self.total = total
            self.success = success
        }
    }

    /// Whether the quotas are enforced at all.
    public var enabled: Bool
    /// The period, in minutes (1 … 10,080, a week); periods are aligned to the Unix epoch, so a
    /// 60-minute period runs from one whole UTC hour to the next.
    public var periodMinutes: Int
    /// All requests per period for an identity without an override; 0 is no limit.
    public var total: Int
    /// Successful requests per period for an identity without an override; at least 1.
    public var success: Int
    /// Overrides by group name.
    public var groups: [String: Limits]

    /// The largest count a limit may have: a billion.
    public static let maximumCount = 1_000_000_000
    /// The longest period: a week, in minutes.
    public static let maximumPeriodMinutes = 10_080
    /// The longest group name, in Unicode code points.
    public static let maximumGroupNameLength = 64
    /// The most overrides one configuration holds.
    public static let maximumGroups = 1_000

    /// Creates settings.
    public init(enabled: Bool = true, periodMinutes: Int = 60, total: Int = 0, success: Int = 1_000, groups: [String: Limits] = [:]) {
        self.enabled = enabled
        self.periodMinutes = periodMinutes
        self.total = total
        self.success = success
        self.groups = groups
    }

    /// The limits that apply to `identity`: its group's override, else the global values.
    public func limits(for identity: QuotaIdentity) -> Limits {
        if case .group(let name) = identity, let override = groups[name] { return override }
        return Limits(total: total, success: success)
    }

    /// The period in nanoseconds.
    public var periodNanoseconds: Int64 { Int64(periodMinutes) * 60_000_000_000 }

    /// Checks every rule.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` naming the field (`period_minutes`,
    ///   `total`, `success`, `groups`, `groups.<name>`, `groups.<name>.total`, …) and the rule.
    public func validate() throws(BulwarkError) {
        if !(1...Self.maximumPeriodMinutes).contains(periodMinutes) {
            throw .invalidArgument(field: "period_minutes", rule: "must be a whole number from 1 to \(Self.maximumPeriodMinutes)")
        }
        try Self.check(total: total, success: success, field: "")
        if groups.count > Self.maximumGroups {
            throw .invalidArgument(field: "groups", rule: "must hold at most \(Self.maximumGroups) groups")
        }
        for name in groups.keys.sorted() {
            try Self.check(groupName: name)
            let limits = groups[name]!
            try Self.check(total: limits.total, success: limits.success, field: "groups.\(name).")
        }
    }

    /// The rules of a group name: non-empty, at most 64 code points, no control characters.
    public static func check(groupName name: String) throws(BulwarkError) {
        let field = "groups.\(name)"
        if name.isEmpty { throw .invalidArgument(field: "groups", rule: "a group name must not be empty") }
        if name.unicodeScalars.count > maximumGroupNameLength {
            throw .invalidArgument(field: field, rule: "a group name must be at most \(maximumGroupNameLength) characters")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidArgument(field: field, rule: "a group name must not contain control characters")
        }
    }

    private static func check(total: Int, success: Int, field prefix: String) throws(BulwarkError) {
        if !(0...maximumCount).contains(total) {
            throw .invalidArgument(field: prefix + "total", rule: "must be a whole number from 0 (no limit) to \(maximumCount)")
        }
        if !(1...maximumCount).contains(success) {
            throw .invalidArgument(field: prefix + "success", rule: "must be a whole number from 1 to \(maximumCount)")
        }
    }
}

/// Who a request counts against: a group (its override, or the global values) or a single user.
public enum QuotaIdentity: Sendable, Hashable, CustomStringConvertible {
    /// A group: every member's requests count together.
    case group(String)
    /// A user (or key) without a group: counted alone, against the global values.
    case user(String)

    /// The identity of a request: the key's group if set, else its user's group, else the user
    /// (the key's id when it names no user).
    public static func of(keyGroup: String?, userGroup: String?, user: String) -> QuotaIdentity {
        if let keyGroup, !keyGroup.isEmpty { return .group(keyGroup) }
        if let userGroup, !userGroup.isEmpty { return .group(userGroup) }
        return .user(user)
    }

    /// `group:<name>` or `user:<id>`: how it is keyed and shown.
    public var description: String {
        switch self {
        case .group(let name): "group:\(name)"
        case .user(let id): "user:\(id)"
        }
    }
}

extension GroupQuotaSettings {
    /// The JSON form: `{"enabled", "period_minutes", "total", "success", "groups": {name: [total,
    /// success]}}`, keys sorted.
    public var json: String {
        let groups = self.groups.keys.sorted().map { "\(jsonStringLiteral($0)):[\(self.groups[$0]!.total),\(self.groups[$0]!.success)]" }
        return #"{"enabled":\#(enabled),"groups":{\#(groups.joined(separator: ","))},"period_minutes":\#(periodMinutes),"success":\#(success),"total":\#(total)}"#
    }

    /// Parses and validates the JSON form; every field must be there, and nothing else.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` naming the field and the rule: the
    ///   JSON must be an object, each count a whole number, each group's value an array of two.
    public init(json bytes: [UInt8]) throws(BulwarkError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .invalidArgument(field: "body", rule: "must be JSON")
        }
        guard let fields = object as? [String: Any] else { throw .invalidArgument(field: "body", rule: "must be a JSON object") }
        let known = ["enabled", "period_minutes", "total", "success", "groups"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidArgument(field: unknown, rule: "is not a setting (the settings are \(known.joined(separator: ", ")))")
        }
        guard let enabled = fields["enabled"].flatMap(Self.boolean) else {
            throw .invalidArgument(field: "enabled", rule: "must be true or false")
        }
        guard let groupObject = fields["groups"] as? [String: Any] else {
            throw .invalidArgument(field: "groups", rule: "must be an object of group names to [total, success]")
        }
        var groups: [String: Limits] = [:]
        for name in groupObject.keys.sorted() {
            try Self.check(groupName: name)
            guard let pair = groupObject[name] as? [Any], pair.count == 2 else {
                throw .invalidArgument(field: "groups.\(name)", rule: "must be an array of two whole numbers, [total, success]")
            }
            groups[name] = Limits(
                total: try Self.integer(pair[0], field: "groups.\(name).total"), success: try Self.integer(pair[1], field: "groups.\(name).success")
            )
        }
        self.init(
            enabled: enabled, periodMinutes: try Self.integer(fields["period_minutes"], field: "period_minutes"),
            total: try Self.integer(fields["total"], field: "total"), success: try Self.integer(fields["success"], field: "success"),
            groups: groups
        )
        try validate()
    }

    /// A JSON number that is a whole number within `Int` (not a Boolean, a string or a fraction).
    private static func integer(_ value: Any?, field: String) throws(BulwarkError) -> Int {
        guard let number = value as? NSNumber, boolean(number) == nil else {
            throw .invalidArgument(field: field, rule: value == nil ? "is required" : "must be a whole number")
        }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) <= 9e15 else { throw .invalidArgument(field: field, rule: "must be a whole number") }
        return Int(double)
    }

    /// `true` or `false` as JSON wrote it (not 1 or 0).
    private static func boolean(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber else { return nil }
        // CoreFoundation's Boolean is its own type on Apple platforms; on Linux it is NSNumber
        // with an objCType of "c" (char), which no JSON number gets.
        let type = String(cString: number.objCType)
        return type == "c" || type == "B" ? number.boolValue : nil
    }
}
