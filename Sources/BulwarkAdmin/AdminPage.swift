import BulwarkCore
import Foundation
import Mustache

/// The admin page's HTML, rendered by swift-mustache from `Page/*.mustache` (every value escaped:
/// a group named `<script>` shows as text), and the pieces it shows: the form's rows and errors,
/// the usage, the changes.
enum AdminPage {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        try? library.register(String(decoding: PackageResources.page_mustache, as: UTF8.self), named: "page")
        try? library.register(String(decoding: PackageResources.login_mustache, as: UTF8.self), named: "login")
        return library
    }()

    static let script = PackageResources.admin_js
    static let style = PackageResources.admin_css

    /// The login form, with an error to show.
    static func login(error: String?) -> String {
        library.render(error.map { ["error": $0] } ?? [String: String](), withTemplate: "login") ?? ""
    }

    /// What the form shows: typed values (after a refused post) or the settings.
    struct Form {
        var enabled: Bool
        var period, total, success: String
        var rows: [(name: String, total: String, success: String)]
        var version: Int
        /// Field → rule: `period_minutes`, `total`, `success`, `groups`, `g<row>_name|total|success`.
        var errors: [String: String] = [:]

        init(_ current: VersionedQuotaSettings) {
            let settings = current.settings
            enabled = settings.enabled
            period = String(settings.periodMinutes)
            total = String(settings.total)
            success = String(settings.success)
            rows = settings.groups.keys.sorted().map { (name: $0, total: String(settings.groups[$0]!.total), success: String(settings.groups[$0]!.success)) }
            version = current.version
        }
    }

    /// The page.
    static func page(
        form: Form, admin: String, node: String, csrf: String, message: (text: String, kind: String)?,
        usage: [GroupQuotas.Usage], periodEnds: Int64, minutes: [GroupQuotas.Minute], audit: [QuotaAuditEntry]
    ) -> String {
        // Three empty rows to add groups with, without the script.
        let rows = form.rows + Array(repeating: (name: "", total: "", success: ""), count: 3)
        // An absent value is left out, never `nil` in an `Any`: Mustache would print and test it.
        var data: [String: Any] = [
            "admin": admin, "node": node, "csrf": csrf, "version": form.version, "message": message?.text ?? "",
            "maxCount": GroupQuotaSettings.maximumCount, "maxPeriod": GroupQuotaSettings.maximumPeriodMinutes,
            "maxName": GroupQuotaSettings.maximumGroupNameLength, "maxGroups": GroupQuotaSettings.maximumGroups,
            "enabled": form.enabled, "period": form.period, "total": form.total, "success": form.success,
            "errors": form.errors,
            "rows": rows.enumerated().map { index, row -> [String: Any] in
                var fields: [String: Any] = ["index": index, "number": index + 1, "name": row.name, "total": row.total, "success": row.success]
                for part in ["name", "total", "success"] { fields["\(part)Error"] = form.errors["g\(index)_\(part)"] }
                return fields
            },
            "usage": usage.map { ["name": name($0.identity), "total": fraction($0.totalUsed, $0.totalLimit), "success": fraction($0.successUsed, $0.successLimit)] },
            "periodEnds": duration(periodEnds),
            "chartSummary": chartSummary(minutes),
            "audit": audit.map { entry -> [String: Any] in
                ["version": entry.version, "when": timestamp(entry.atMilliseconds), "admin": entry.admin, "change": change(entry)]
            },
        ]
        data["messageClass"] = message?.kind
        return library.render(data, withTemplate: "page") ?? ""
    }

    /// The form's fields as settings, or the rules they break (by the form's field names).
    static func settings(from fields: [String: String], into form: inout Form) -> GroupQuotaSettings? {
        form.enabled = fields["enabled"] == "on"
        form.period = fields["period_minutes"] ?? ""
        form.total = fields["total"] ?? ""
        form.success = fields["success"] ?? ""
        form.rows = []
        var index = 0
        while let name = fields["g\(index)_name"] {
            form.rows.append((name: name, total: fields["g\(index)_total"] ?? "", success: fields["g\(index)_success"] ?? ""))
            index += 1
        }
        func whole(_ text: String, _ field: String) -> Int {
            if let value = Int(text.trimmingCharacters(in: .whitespaces)) { return value }
            form.errors[field] = "must be a whole number"
            return -1
        }
        var settings = GroupQuotaSettings(
            enabled: form.enabled, periodMinutes: whole(form.period, "period_minutes"), total: whole(form.total, "total"),
            success: whole(form.success, "success")
        )
        var rowOf: [String: Int] = [:]
        for (row, entry) in form.rows.enumerated() where !(entry.name.isEmpty && entry.total.isEmpty && entry.success.isEmpty) {
            if rowOf[entry.name] != nil {
                form.errors["g\(row)_name"] = "names another row's group"
                continue
            }
            rowOf[entry.name] = row
            settings.groups[entry.name] = .init(total: whole(entry.total, "g\(row)_total"), success: whole(entry.success, "g\(row)_success"))
        }
        guard form.errors.isEmpty else { return nil }
        do {
            try settings.validate()
            return settings
        } catch {
            guard case .invalidArgument(let field, let rule) = error else { return nil }
            form.errors[formField(field, rows: rowOf)] = rule
            return nil
        }
    }

    /// A settings field (`groups.gold.total`) as the form names it (`g0_total`).
    static func formField(_ field: String, rows: [String: Int]) -> String {
        guard field.hasPrefix("groups.") else { return field }
        let rest = String(field.dropFirst("groups.".count))
        for suffix in ["total", "success"] where rest.hasSuffix("." + suffix) {
            if let row = rows[String(rest.dropLast(suffix.count + 1))] { return "g\(row)_\(suffix)" }
        }
        if let row = rows[rest] { return "g\(row)_name" }
        return "groups"
    }

    /// `application/x-www-form-urlencoded` fields (`+` a space; a repeated name keeps its last).
    static func formFields(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// `gold` for a group, `user alice` for a user.
    static func name(_ identity: QuotaIdentity) -> String {
        switch identity {
        case .group(let name): name
        case .user(let id): "user \(id)"
        }
    }

    static func fraction(_ used: Int, _ limit: Int) -> String { "\(used) / \(limit == 0 ? "unlimited" : String(limit))" }

    /// `41 min 3 s`, `2 h 5 min`.
    static func duration(_ nanoseconds: Int64) -> String {
        let seconds = Int((nanoseconds + 999_999_999) / 1_000_000_000)
        if seconds >= 3_600 { return "\(seconds / 3_600) h \(seconds % 3_600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds) s"
    }

    static func timestamp(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000))
    }

    static func chartSummary(_ minutes: [GroupQuotas.Minute]) -> String {
        let admitted = minutes.reduce(0) { $0 + $1.admitted }
        let failed = minutes.reduce(0) { $0 + $1.failed }
        let refused = minutes.reduce(0) { $0 + $1.refused }
        return "In the last hour: \(admitted - failed) succeeded, \(failed) failed, \(refused) refused."
    }

    /// What an audit entry changed, in words: `total 100 → 200; gold 3/2 → 5/2; silver added (3/2)`.
    static func change(_ entry: QuotaAuditEntry) -> String {
        let new = entry.new
        guard let old = entry.old else {
            return "first settings: \(new.enabled ? "on" : "off"), \(new.periodMinutes) min, total \(new.total), success \(new.success), \(new.groups.count) groups"
        }
        var parts: [String] = []
        if old.enabled != new.enabled { parts.append(new.enabled ? "turned on" : "turned off") }
        if old.periodMinutes != new.periodMinutes { parts.append("period \(old.periodMinutes) → \(new.periodMinutes) min") }
        if old.total != new.total { parts.append("total \(old.total) → \(new.total)") }
        if old.success != new.success { parts.append("success \(old.success) → \(new.success)") }
        for name in Set(old.groups.keys).union(new.groups.keys).sorted() {
            switch (old.groups[name], new.groups[name]) {
            case (nil, let added?): parts.append("\(name) added (\(added.total)/\(added.success))")
            case (let removed?, nil): parts.append("\(name) removed (was \(removed.total)/\(removed.success))")
            case (let before?, let after?) where before != after:
                parts.append("\(name) \(before.total)/\(before.success) → \(after.total)/\(after.success)")
            default: break
            }
        }
        return parts.isEmpty ? "no change" : parts.joined(separator: "; ")
    }
}
