/// One message of a chat request, as its tokens are counted: the role, the text, the optional
/// author name, and the text of any other field (tool calls, a tool call's id) as it was sent.
public struct ChatMessage: Sendable, Hashable {
    /// `system`, `user`, `assistant`, `tool`, `developer`.
    public var role: String
    /// The message's text: a string content, or the text parts of a content array joined.
    public var content: String
    /// The author's name, when the message has one.
    public var name: String?
    /// Any other fields' values as text (`tool_calls` as JSON, `tool_call_id`), each counted as
    /// its tokens.
    public var other: [String]

    /// A message.
    public init(role: String, content: String, name: String? = nil, other: [String] = []) {
        self.role = role
        self.content = content
        self.name = name
        self.other = other
    }
}

extension Tokenizer {
    /// The prompt tokens of a chat request as OpenAI's cookbook counts them
    /// (`num_tokens_from_messages`, for every model since `gpt-3.5-turbo-0613`): 3 per message,
    /// plus the tokens of each field's value, plus 1 per name, plus 3 for the reply's priming
    /// (`<|start|>assistant<|message|>`).
    ///
    /// What the cookbook leaves out is left out here too: the overhead of tool definitions and of
    /// images. The gateway settles with the provider's `usage`, which corrects it.
    public func countChat(_ messages: [ChatMessage]) -> Int {
        Self.countChat(messages, counting: count)
    }

    /// The cookbook's count of `messages` with `count` giving each field's tokens: for a caller
    /// that caches the counts of texts it has seen, or estimates them.
    public static func countChat(_ messages: [ChatMessage], counting count: (String) -> Int) -> Int {
        var total = 3
        for message in messages {
            total += 3 + count(message.role) + count(message.content)
            if let name = message.name { total += count(name) + 1 }
            for value in message.other { total += count(value) }
        }
        return total
    }

    /// The encoding tiktoken uses for `model` (`encoding_for_model`): the exact names first, then
    /// the prefixes, as its `model.py` lists them; `nil` for a model it does not know.
    public static func encoding(forModel model: String) -> Encoding? {
        if let exact = exactModels[model] { return exact }
        return modelPrefixes.first { model.hasPrefix($0.prefix) }?.encoding
    }

    private static let exactModels: [String: Encoding] = [
        "o1": .o200kBase, "o3": .o200kBase, "o4-mini": .o200kBase, "gpt-5": .o200kBase, "gpt-4.1": .o200kBase,
        "gpt-4o": .o200kBase, "gpt-4": .cl100kBase, "gpt-3.5-turbo": .cl100kBase, "gpt-3.5": .cl100kBase,
        "gpt-35-turbo": .cl100kBase, "davinci-002": .cl100kBase, "babbage-002": .cl100kBase,
        "text-embedding-ada-002": .cl100kBase, "text-embedding-3-small": .cl100kBase, "text-embedding-3-large": .cl100kBase,
    ]

    private static let modelPrefixes: [(prefix: String, encoding: Encoding)] = [
        ("o1-", .o200kBase), ("o3-", .o200kBase), ("o4-mini-", .o200kBase), ("gpt-5", .o200kBase), ("gpt-4.5-", .o200kBase),
        ("gpt-4.1-", .o200kBase), ("chatgpt-4o-", .o200kBase), ("gpt-4o-", .o200kBase), ("ft:gpt-4o", .o200kBase),
        ("gpt-4-", .cl100kBase), ("gpt-3.5-turbo-", .cl100kBase), ("gpt-35-turbo-", .cl100kBase), ("ft:gpt-4", .cl100kBase),
        ("ft:gpt-3.5-turbo", .cl100kBase), ("ft:davinci-002", .cl100kBase), ("ft:babbage-002", .cl100kBase),
    ]
}
