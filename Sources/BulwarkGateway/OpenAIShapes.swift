import BulwarkTokenizer
import Foundation
import HTTPTypes
import Hummingbird

/// The fields of a chat completion request the gateway reads; the body goes upstream as sent
/// (every other field included), save `stream_options` on a stream (see ``Gateway``).
struct ChatRequest: Decodable, Sendable {
    var model: String
    var messages: [Message]
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var stream: Bool?
    var streamOptions: StreamOptions?

    struct StreamOptions: Decodable, Sendable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// A message; its content a string, an array of parts (their text counted), or absent.
    struct Message: Decodable, Sendable {
        var role: String
        var content: String
        var name: String?

        enum CodingKeys: String, CodingKey { case role, content, name }
        struct Part: Decodable { var type: String?
            var text: String?
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decode(String.self, forKey: .role)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            if let text = try? c.decodeIfPresent(String.self, forKey: .content) {
                content = text
            } else if let parts = try? c.decodeIfPresent([Part].self, forKey: .content) {
                content = parts.compactMap(\.text).joined()
            } else {
                content = ""
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, stream
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", streamOptions = "stream_options"
    }

    /// The output maximum the request names, `max_completion_tokens` first.
    var maximumOutput: Int? { maxCompletionTokens ?? maxTokens }
    /// The name of the field it came from, for an error.
    var maximumOutputField: String { maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens" }

    /// The messages as the tokenizer counts them.
    var chatMessages: [ChatMessage] { messages.map { ChatMessage(role: $0.role, content: $0.content, name: $0.name) } }
}

/// The fields of an embeddings request the gateway reads: the model and the input (a string,
/// strings, tokens, or arrays of tokens).
struct EmbeddingsRequest: Decodable, Sendable {
    var model: String
    var input: [Input]

    enum Input: Sendable {
        case text(String)
        case tokens(Int)
    }

    enum CodingKeys: String, CodingKey { case model, input }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        if let text = try? c.decode(String.self, forKey: .input) {
            input = [.text(text)]
        } else if let texts = try? c.decode([String].self, forKey: .input) {
            input = texts.map(Input.text)
        } else if let tokens = try? c.decode([Int].self, forKey: .input) {
            input = [.tokens(tokens.count)]
        } else {
            input = try c.decode([[Int]].self, forKey: .input).map { .tokens($0.count) }
        }
    }
}

/// The `usage` of a reply or of a stream's last chunk.
struct Usage: Codable, Sendable, Equatable {
    var promptTokens: Int
    var completionTokens: Int?
    var totalTokens: Int?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    private struct Holder: Decodable { var usage: Usage? }

    /// Reads the `usage` object of a JSON reply or chunk, if it has one.
    static func read(_ json: [UInt8]) -> Usage? {
        (try? JSONDecoder().decode(Holder.self, from: Data(json)))?.usage
    }
}

/// OpenAI's error replies: `{"error": {"message", "type", "param", "code"}}`.
enum OpenAIError {
    struct Body: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var param: String?
            var code: String?

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)
                try c.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }

        var error: Detail
    }

    /// The JSON of an error body.
    static func body(_ message: String, type: String, param: String?, code: String?) -> [UInt8] {
        Array((try? JSONEncoder().encode(Body(error: .init(message: message, type: type, param: param, code: code)))) ?? Data())
    }

    /// A JSON error response.
    static func response(
        _ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil,
        headers: HTTPFields = [:]
    ) -> Response {
        let body = body(message, type: type, param: param, code: code)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
