import BulwarkTestSupport
import Foundation
import Testing

/// bulwark-gateway started as a process on a free port, in memory with its mock upstream, and
/// called by the real `openai` Python client and by curl. A solo suite (`BULWARK_SOLO=1`): the
/// client's seconds of CPU would slow the timing-bound suites beside it.
@Suite("bulwark-gateway, live: the openai client and curl", .serialized, .timeLimit(minutes: 4), .enabled(if: soloTests, "a solo test: BULWARK_SOLO=1"))
struct GatewayLiveTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Windows of 3 s (segments of 250 ms), so that a 429's wait is short enough for the client's
    /// own retry; the tokenizer reads the rank files when present, else estimates.
    static let configuration = """
        window_seconds: 3
        tokenizer: {directory: \(root.path)/.tiktoken}
        max_body_bytes: 1048576
        models:
          gpt-4o-mini: {upstreams: [mock], max_output: 4096}
          slow-model: {upstreams: [slow]}
          text-embedding-3-small: {upstreams: [mock], embedding: true}
        upstreams:
          mock: {kind: mock}
          slow: {kind: mock, timeout_seconds: 1, mock: {latency_ms: 60000}}
        keys:
          - {id: main, key: sk-test-main, limits: {rpm: 1000, input_tpm: 1000000, output_tpm: 1000000}}
          - {id: tight, sha256: \(sha256("sk-test-tight")), limits: {rpm: 2}}
        """

    static func sha256(_ text: String) -> String {
        (try? runProgram("python3", ["-c", "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", text])) ?? ""
    }

    @Test("the openai client: chat, streams with and without usage, embeddings, a 429 as RateLimitError, its own retry")
    func openAIClient() async throws {
        try await withGateway { base in
            let script = Self.root.appendingPathComponent("Tests/BulwarkGatewayTests/openai_client.py").path
            let output = try await run("bash", ["-c", "python3 '\(script)' '\(base)' 2>&1"])
            for check in ["chat: ok", "headers: ok", "stream with usage: ok", "stream without usage: ok", "stream headers: ok", "embeddings: ok", "429: ok", "retry: ok"] {
                #expect(output.contains(check), "\(check) missing from: \(output)")
            }
        }
    }

    @Test("bad input gets OpenAI's error body and status, and nothing is reserved for it")
    func badInput() async throws {
        try await withGateway { base in
            func call(_ body: String, key: String? = "sk-test-main", path: String = "chat/completions") async throws -> String {
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)")
                try body.write(to: file, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(at: file) }
                return try await run("curl", ["-s", "-w", " %{http_code}", "--data-binary", "@\(file.path)"] + (key.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
                    + ["\(base)/v1/\(path)"])
            }
            let malformed = try await call(#"{"model": "gpt-4o-mini", "messages": [}"#)
            #expect(malformed.hasSuffix(" 400") && malformed.contains(#""type":"invalid_request_error""#), "\(malformed)")
            let big = try await call(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":""# + String(repeating: "a", count: 10 << 20) + #""}]}"#)
            #expect(big.hasSuffix(" 413") && big.contains(#""code":"request_too_large""#), "\(big.suffix(200))")
            let negative = try await call(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_tokens":-5}"#)
            #expect(negative.hasSuffix(" 400") && negative.contains(#""param":"max_tokens""#), "\(negative)")
            let huge = try await call(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_completion_tokens":999999999}"#)
            #expect(huge.hasSuffix(" 400") && huge.contains(#""code":"invalid_value""#), "\(huge)")
            let unknown = try await call(#"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#)
            #expect(unknown.hasSuffix(" 404") && unknown.contains(#""code":"model_not_found""#), "\(unknown)")
            let missing = try await call(#"{"model":"gpt-4o-mini","messages":[]}"#, key: nil)
            #expect(missing.hasSuffix(" 401") && missing.contains(#""code":"missing_api_key""#), "\(missing)")
            let wrong = try await call(#"{"model":"gpt-4o-mini","messages":[]}"#, key: "sk-nobody")
            #expect(wrong.hasSuffix(" 401") && wrong.contains(#""code":"invalid_api_key""#), "\(wrong)")
            let hang = try await call(#"{"model":"slow-model","messages":[{"role":"user","content":"x"}],"max_tokens":1}"#)
            #expect(hang.hasSuffix(" 504") && hang.contains(#""code":"upstream_timeout""#), "\(hang)")
            // The tight key spent nothing on any of it: its two requests are still there.
            for _ in 0 ..< 2 {
                let ok = try await call(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_tokens":1}"#, key: "sk-test-tight")
                #expect(ok.hasSuffix(" 200"), "\(ok)")
            }
        }
    }

    @Test("real upstreams over HTTP: a dead one is passed over, the next serves JSON and streams through")
    func httpUpstreams() async throws {
        let mockPort = try #require(freeLoopbackPort())
        let provider = try await LiveServer("bulwark-gateway", arguments: ["--serve-mock", "--port", "\(mockPort)"], port: mockPort)
        defer { provider.stop() }
        let dead = try #require(freeLoopbackPort())
        let port = try #require(freeLoopbackPort())
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-http-\(port).yaml")
        try """
            tokenizer: {directory: \(Self.root.path)/.tiktoken}
            models:
              gpt-4o-mini: {upstreams: [dead, provider]}
            upstreams:
              dead: {kind: openai, url: "http://127.0.0.1:\(dead)/v1"}
              provider: {kind: openai, url: "http://127.0.0.1:\(mockPort)/v1"}
            keys:
              - {id: main, key: sk-test-main, limits: {rpm: 100, output_tpm: 1000}}
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let gateway = try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)"], port: port)
        defer { gateway.stop() }
        let chat = try await run("curl", [
            "-s", "-H", "Authorization: Bearer sk-test-main",
            "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":3,"unknown_field":{"kept":true}}"#,
            "\(gateway.base)/v1/chat/completions",
        ])
        #expect(chat.contains(#""content":" hello hello hello""#) && chat.contains(#""completion_tokens":3"#), "\(chat)")
        let stream = try await run("curl", [
            "-s", "-N", "-D", "-", "-H", "Authorization: Bearer sk-test-main",
            "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":2,"stream":true}"#,
            "\(gateway.base)/v1/chat/completions",
        ])
        #expect(stream.lowercased().contains("x-ratelimit-remaining-tokens: "), "\(stream)")
        #expect(stream.components(separatedBy: #""content":" hello""#).count == 3 && stream.hasSuffix("data: [DONE]"), "\(stream)")
        #expect(!stream.contains(#""usage""#), "the usage chunk the client did not ask for is stripped: \(stream)")
        // Settled with the upstream's usage: 3 + 2 output tokens of the 1,000.
        let models = try await run("curl", [
            "-s", "-D", "-", "-o", "/dev/null", "-H", "Authorization: Bearer sk-test-main",
            "-d", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_tokens":1}"#, "\(gateway.base)/v1/chat/completions",
        ])
        #expect(models.lowercased().contains("x-ratelimit-remaining-tokens: 994"), "\(models)")
    }

    func withGateway(_ body: (String) async throws -> Void) async throws {
        let port = try #require(freeLoopbackPort())
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(port).yaml")
        try Self.configuration.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let server = try await LiveServer("bulwark-gateway", arguments: ["--config", file.path, "--port", "\(port)"], port: port)
        defer { server.stop() }
        try await body(server.base)
        #expect(server.isRunning, "the gateway stopped: \(server.output)")
    }
}
