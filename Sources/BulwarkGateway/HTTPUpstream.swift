import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An OpenAI-compatible server reached over HTTP with async-http-client: the request body sent
/// as the client sent it (save the usage flag on streams), the reply's status, headers and body
/// passed back, a stream's server-sent events passed on one by one as they arrive.
struct HTTPUpstream: Upstream {
    let name: String
    /// The base URL, `https://api.openai.com/v1`.
    let baseURL: String
    /// The key sent as `Authorization: Bearer`, read from the configured environment variable.
    let apiKey: String?
    let client: HTTPClient

    /// The largest whole reply read (16 MiB); a larger one fails the call.
    static let maximumReply = 16 << 20

    /// `GET <url>/models`: up when it answers 2xx within 5 s.
    func probe() async throws {
        var request = HTTPClientRequest(url: baseURL.hasSuffix("/") ? baseURL + "models" : baseURL + "/models")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try? await response.body.collect(upTo: Self.maximumReply)
        guard (200..<300).contains(response.status.code) else { throw ProbeFailure(status: Int(response.status.code)) }
    }

    func send(path: String, body: [UInt8], stream: Bool) async throws -> UpstreamReply {
        var request = HTTPClientRequest(url: baseURL.hasSuffix("/") ? baseURL + path : baseURL + "/" + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .hours(1))
        let status = Int(response.status.code)
        let headers = response.headers.map { (name: $0.name, value: $0.value) }
        guard stream, status == 200 else {
            let whole = try await response.body.collect(upTo: Self.maximumReply)
            return UpstreamReply(status: status, headers: headers, body: .whole(Array(buffer: whole)))
        }
        let events = AsyncThrowingStream<[UInt8], any Error> { continuation in
            let task = Task {
                do {
                    var parser = EventParser()
                    for try await buffer in response.body {
                        for event in parser.feed(buffer.readableBytesView) {
                            if event == Array("[DONE]".utf8) {
                                continuation.finish()
                                return
                            }
                            continuation.yield(event)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return UpstreamReply(status: status, headers: headers, body: .events(events))
    }
}

/// Splits a server-sent-event stream into the `data` of its events (one `data:` line each, as
/// OpenAI sends them), whatever the chunks it arrives in.
struct EventParser {
    private var line: [UInt8] = []

    /// The data of every event a line of which ended in `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var events: [[UInt8]] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.starts(with: Array("data:".utf8)) {
                var data = line.dropFirst(5)
                if data.first == UInt8(ascii: " ") { data = data.dropFirst() }
                events.append(Array(data))
            }
            line.removeAll(keepingCapacity: true)
        }
        return events
    }
}

/// A health probe answered with a status that is not 2xx.
struct ProbeFailure: Error, CustomStringConvertible {
    var status: Int
    var description: String { "the probe was answered \(status)" }
}
