// bulwark-gateway: the OpenAI-compatible LLM rate-limiting gateway (docs/Gateway.md).
//
//   swift run bulwark-gateway                     in memory, the mock upstream, a demo key
//   swift run bulwark-gateway --config gw.yaml    as configured (YAML or JSON)
import ArgumentParser
import BulwarkGateway
import Foundation

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulwark-gateway",
        abstract: "An OpenAI-compatible gateway limiting each API key's requests, input and output tokens per minute.",
        discussion: """
        Without --config it serves in memory with the built-in mock upstream: models gpt-4o-mini and \
        text-embedding-3-small, and the key sk-bulwark-demo (60 requests, 20,000 input and 20,000 output \
        tokens per minute). See docs/Gateway.md for the configuration file.
        """
    )

    @Option(name: .long, help: "The configuration file (YAML or JSON).")
    var config: String?

    @Option(name: .long, help: "The port to listen on, in place of the configuration's (0: any free port).")
    var port: Int?

    @Option(name: .long, help: "The address to listen on, in place of the configuration's.")
    var host: String?

    @Option(name: .long, help: "This node's name, in place of the configuration's (sent in x-bulwark-node).")
    var node: String?

    @Flag(name: .long, help: "Serve the mock provider alone (no keys, no limits): an upstream for gateways, LiteLLM or load tests.")
    var serveMock = false

    func run() async throws {
        var configuration = try config.map { try GatewayConfiguration.load(path: $0) } ?? GatewayConfiguration.demo
        if let port { configuration.listen.port = port }
        if let host { configuration.listen.host = host }
        if let node { configuration.node = node }
        let gateway = try Gateway(configuration: configuration)
        if serveMock {
            print("bulwark-gateway: the mock provider on http://\(configuration.listen.host):\(configuration.listen.port)/v1")
            try await gateway.runMock()
            return
        }
        for warning in gateway.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let store = configuration.redis.map { "Redis at \($0.host):\($0.port)" } ?? "this process"
        print("bulwark-gateway on http://\(configuration.listen.host):\(configuration.listen.port), limits kept in \(store), \(configuration.keys.count) keys, models: \(configuration.models.keys.sorted().joined(separator: ", "))")
        try await gateway.run()
    }
}
