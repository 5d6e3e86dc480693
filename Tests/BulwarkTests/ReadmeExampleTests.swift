import Bulwark
import Foundation
import Testing

/// Keeps the README's example true: the code below is the README's `swift` block, word for word
/// (checked), and it runs (with `print` captured, so its printed results are checked too).
@Suite("README")
struct ReadmeExampleTests {
    @Test("the README example is this code, and it prints what its comments say")
    func example() async throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }

        // README example begins
        // An LLM provider allows 40 requests per minute: a bucket of 40, refilled 40 per minute.
        let requests = try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))

        let decision = try requests.tryAcquire()         // answers at once, never waits
        print(decision.isAllowed, decision.remaining)    // true 39

        // Or wait in line, first come first served, for at most 10 seconds, then call.
        let context = ResilienceContext(operationName: "chat", deadline: .after(.seconds(10)))
        let reply = try await requests.execute(context) { _ in "model reply" }
        print(reply)                                     // model reply
        // README example ends

        #expect(printed == ["true 39", "model reply"])
        #expect(try readmeExample(1) == thisExample("README example"))
    }

    @Test("the README's pipeline example is this code, and it prints what its comments say")
    func pipelineExample() async throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }
        let provider = FlakyProvider()

        // README pipeline begins
        // Retry, circuit breaker, rate limit and timeout around a model call, outermost first.
        let guarded = try Pipeline {
            try Retry(configuration: RetryConfiguration(maximumAttempts: 3))
            try CircuitBreaker(configuration: CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 20))
            try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))
            try Timeout(.seconds(30))
        }
        let answer = try await guarded.execute(ResilienceContext(operationName: "chat")) { context in
            try await provider.chat(attempt: context.attempt)   // fails once with a 503, then answers
        }
        print(answer)                                    // reply on attempt 2
        // README pipeline ends

        #expect(printed == ["reply on attempt 2"])
        #expect(try readmeExample(2) == thisExample("README pipeline"))
    }

    /// A provider that answers 503 on the first attempt.
    struct FlakyProvider {
        struct ServiceUnavailable: Error {}
        func chat(attempt: Int) async throws -> String {
            if attempt == 1 { throw ServiceUnavailable() }
            return "reply on attempt \(attempt)"
        }
    }

    /// The README's `number`th `swift` block, without its `import` line.
    private func readmeExample(_ number: Int) throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```swift\n").dropFirst(number).first?
            .components(separatedBy: "```").first)
        return normalized(block.split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.hasPrefix("import ") })
    }

    /// The lines between the markers `<marker> begins` and `<marker> ends` above, without their
    /// indentation.
    private func thisExample(_ marker: String) throws -> [String] {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasSuffix("// \(marker) begins") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// \(marker) ends") })
        return normalized(lines[(start + 1) ..< end].map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : $0 })
    }

    private func normalized(_ lines: [String]) -> [String] {
        var lines = lines
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    private var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
