import BulwarkAdmin
import BulwarkCore
import Foundation
import Testing

@Suite("Group quota settings: the JSON form and its rules")
struct GroupQuotaSettingsTests {
    static func parse(_ text: String) -> Result<GroupQuotaSettings, BulwarkError> {
        do { return .success(try GroupQuotaSettings(json: Array(text.utf8))) } catch { return .failure(error) }
    }

    @Test("a valid form reads back as written, keys sorted")
    func roundTrip() throws {
        let text = #"{"enabled":true,"groups":{"gold":[3,2],"z<b>":[0,1]},"period_minutes":60,"success":500,"total":1000}"#
        let settings = try GroupQuotaSettings(json: Array(text.utf8))
        #expect(settings.groups["gold"] == .init(total: 3, success: 2))
        #expect(settings.limits(for: .group("gold")) == .init(total: 3, success: 2))
        #expect(settings.limits(for: .group("silver")) == .init(total: 1000, success: 500))
        #expect(settings.limits(for: .user("gold")) == .init(total: 1000, success: 500), "a user is never a group's override")
        #expect(settings.json == text.replacingOccurrences(of: "<", with: "\\u003c"))
    }

    @Test(
        "every refusal names the field and the rule",
        arguments: [
            (#"{"enabled":true,"groups":{},"period_minutes":60,"success":0,"total":10}"#, "success", "from 1 to"),
            (#"{"enabled":true,"groups":{},"period_minutes":60,"success":1,"total":-1}"#, "total", "from 0 (no limit)"),
            (#"{"enabled":true,"groups":{},"period_minutes":60,"success":1,"total":1000000001}"#, "total", "to 1000000000"),
            (#"{"enabled":true,"groups":{},"period_minutes":0,"success":1,"total":0}"#, "period_minutes", "from 1 to 10080"),
            (#"{"enabled":true,"groups":{},"period_minutes":10081,"success":1,"total":0}"#, "period_minutes", "from 1 to 10080"),
            (#"{"enabled":true,"groups":{},"period_minutes":1.5,"success":1,"total":0}"#, "period_minutes", "whole number"),
            (#"{"enabled":true,"groups":{},"period_minutes":"60","success":1,"total":0}"#, "period_minutes", "whole number"),
            (#"{"enabled":1,"groups":{},"period_minutes":60,"success":1,"total":0}"#, "enabled", "true or false"),
            (#"{"enabled":true,"groups":{"":[1,1]},"period_minutes":60,"success":1,"total":0}"#, "groups", "must not be empty"),
            (#"{"enabled":true,"groups":{"a\u0007b":[1,1]},"period_minutes":60,"success":1,"total":0}"#, "groups.a\u{7}b", "control characters"),
            (#"{"enabled":true,"groups":{"gold":[1]},"period_minutes":60,"success":1,"total":0}"#, "groups.gold", "two whole numbers"),
            (#"{"enabled":true,"groups":{"gold":[1,0]},"period_minutes":60,"success":1,"total":0}"#, "groups.gold.success", "from 1 to"),
            (#"{"enabled":true,"groups":{"gold":[true,1]},"period_minutes":60,"success":1,"total":0}"#, "groups.gold.total", "whole number"),
            (#"{"enabled":true,"groups":[],"period_minutes":60,"success":1,"total":0}"#, "groups", "object"),
            (#"{"enabled":true,"groups":{},"period_minutes":60,"success":1}"#, "total", "required"),
            (#"{"enabled":true,"groups":{},"period_minutes":60,"success":1,"total":0,"extra":1}"#, "extra", "not a setting"),
            (#"[1,2]"#, "body", "JSON object"),
            (#"{"#, "body", "JSON"),
        ]
    )
    func refusals(text: String, field: String, rule: String) {
        guard case .failure(.invalidArgument(let named, let said)) = Self.parse(text) else {
            Issue.record("accepted, or another error: \(Self.parse(text))")
            return
        }
        #expect(named == field)
        #expect(said.contains(rule), "\(said)")
    }

    @Test("a group name of 64 code points is accepted, 65 refused; code points, not bytes")
    func nameLength() {
        let ok = String(repeating: "é", count: 64)
        #expect(throws: Never.self) { try GroupQuotaSettings(groups: [ok: .init(total: 1, success: 1)]).validate() }
        let long = ok + "é"
        #expect(throws: BulwarkError.invalidArgument(field: "groups.\(long)", rule: "a group name must be at most 64 characters")) {
            try GroupQuotaSettings(groups: [long: .init(total: 1, success: 1)]).validate()
        }
    }

    @Test("the identity: the key's group, else the user's, else the user")
    func identity() {
        #expect(QuotaIdentity.of(keyGroup: "gold", userGroup: "free", user: "alice") == .group("gold"))
        #expect(QuotaIdentity.of(keyGroup: nil, userGroup: "free", user: "alice") == .group("free"))
        #expect(QuotaIdentity.of(keyGroup: "", userGroup: nil, user: "alice") == .user("alice"))
    }
}
