import Foundation
import Testing

/// A JSON value of a vector file's configuration.
enum JSONValue: Decodable, Sendable, Hashable {
    case integer(Int64), double(Double), string(String), array([JSONValue]), object([String: JSONValue]), null, bool(Bool)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    subscript(key: String) -> JSONValue { if case .object(let object) = self { object[key] ?? .null } else { .null } }
    var int: Int { if case .integer(let value) = self { Int(value) } else { fatalError("not an integer: \(self)") } }
    var int64: Int64 { if case .integer(let value) = self { value } else { fatalError("not an integer: \(self)") } }
    var optionalInt: Int? { if case .integer(let value) = self { Int(value) } else { nil } }
    var optionalInt64: Int64? { if case .integer(let value) = self { value } else { nil } }
    var optionalDouble: Double? {
        switch self {
        case .double(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    var string: String { if case .string(let value) = self { value } else { fatalError("not a string: \(self)") } }
    var array: [JSONValue] { if case .array(let value) = self { value } else { [] } }
}

/// One file of `Tests/Vectors/`: cases of steps with their expected figures.
struct VectorFile: Decodable, Sendable {
    struct Step: Decodable, Sendable {
        var op: String?
        var at: Int64
        var cost: Int?
        var admittedAt: Int64?
        var allowed: Bool?
        var remaining: JSONValue?
        var retryAfter: Int64?
        var resetAfter: Int64?
        // Chains and budgets.
        var costs: [Int]?
        var deniedBy: String?
        var id: JSONValue?
        var estimate: [Int]?
        var actual: [Int]?
        var expired: Bool?
        var error: String?

        var operation: String { op ?? "acquire" }
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var config: JSONValue
        var monotonicClock: Bool
        var steps: [Step]
        var file = ""
        var testDescription: String { "\(file): \(name)" }

        enum CodingKeys: String, CodingKey { case name, config, monotonicClock, steps }
    }

    var algorithm: String
    var cases: [Case]

    /// Every case of `Tests/Vectors/<name>.json`.
    static func cases(of name: String) -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/\(name).json")
        do {
            let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
            precondition(file.algorithm == name, "\(url.path) holds \(file.algorithm)")
            return file.cases.map { var c = $0; c.file = name; return c }
        } catch {
            fatalError("cannot read the test vectors at \(url.path): \(error)")
        }
    }
}
