// bulwark-gateway: the OpenAI-compatible LLM rate-limiting gateway (docs/Gateway.md).
//
//   swift run bulwark-gateway                          in memory, the mock upstream, a demo key
//   swift run bulwark-gateway --config gw.yaml         as configured (YAML or JSON)
//   swift run bulwark-gateway cluster --nodes 3        redis-server and three nodes, supervised
import ArgumentParser
import BulwarkGateway
import Foundation

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulwark-gateway",
        abstract: "An OpenAI-compatible gateway limiting each API key's requests, input and output tokens per minute.",
        subcommands: [Serve.self, Cluster.self],
        defaultSubcommand: Serve.self
    )
}

/// One node (the default).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve one gateway node.",
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

    @Option(name: .long, help: "Keep the limits in the Redis server on this port of 127.0.0.1 (or of the configuration's Redis host).")
    var redisPort: Int?

    @Option(name: .long, help: "The admin page's port, in place of the configuration's quotas.admin.port.")
    var adminPort: Int?

    @Flag(name: .long, help: "Serve the mock provider alone (no keys, no limits): an upstream for gateways, LiteLLM or load tests.")
    var serveMock = false

    func run() async throws {
        var configuration = try config.map { try GatewayConfiguration.load(path: $0) } ?? GatewayConfiguration.demo
        if let port { configuration.listen.port = port }
        if let host { configuration.listen.host = host }
        if let node { configuration.node = node }
        if let adminPort { configuration.quotas?.admin.port = adminPort }
        if let redisPort {
            var redis = configuration.redis ?? GatewayConfiguration.RedisSettings()
            redis.port = redisPort
            configuration.redis = redis
        }
        let gateway = try Gateway(configuration: configuration)
        if serveMock {
            print("bulwark-gateway: the mock provider on http://\(configuration.listen.host):\(configuration.listen.port)/v1")
            try await gateway.runMock()
            return
        }
        for warning in gateway.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let store = configuration.redis.map { "Redis at \($0.host):\($0.port)" } ?? "this process"
        print("bulwark-gateway on http://\(configuration.listen.host):\(configuration.listen.port), limits kept in \(store), \(configuration.keys.count) keys, models: \(configuration.models.keys.sorted().joined(separator: ", "))")
        if let quotas = configuration.quotas, !quotas.admin.tokens.isEmpty {
            print("bulwark-gateway: the quotas' admin page on http://\(quotas.admin.host):\(quotas.admin.port)/admin")
        }
        try await gateway.run()
    }
}

/// Redis and several nodes, supervised.
struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start redis-server and several nodes sharing it, on consecutive ports; restart a node that dies.",
        discussion: """
        Node i (named a, b, c, …) listens on --port + i and keeps its limits in the redis-server this \
        command starts on --redis-port (it must be installed: apt-get install redis-server). Every node's \
        /health/live is checked each second; a node that exits or fails three checks in a row is restarted. \
        SIGTERM or SIGINT stops the nodes, each finishing its requests in flight, then Redis.
        """
    )

    @Option(name: .long, help: "How many nodes.")
    var nodes = 3

    @Option(name: .long, help: "The configuration file the nodes read (YAML or JSON); the built-in demo without it.")
    var config: String?

    @Option(name: .long, help: "The first node's port.")
    var port = 8080

    @Option(name: .long, help: "The address the nodes listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "The port redis-server is started on.")
    var redisPort = 6379

    @Option(name: .long, help: "The first node's quotas admin page port (node i: this + i), in place of the configuration's.")
    var adminPort = 9080

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var cluster = try GatewayCluster(executable: executable, configuration: config, nodes: nodes, port: port, host: host, redisPort: redisPort)
        cluster.adminPort = adminPort
        print("bulwark-gateway cluster: redis-server on \(redisPort), nodes \((0 ..< nodes).map(GatewayCluster.name).joined(separator: ", ")) on http://\(host):\(port)...\(port + nodes - 1)")
        try await cluster.runUntilSignalled()
    }
}
