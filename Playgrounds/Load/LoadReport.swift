import Foundation

/// A key's limits, to compare what was admitted with (`--limit key=rpm/input_tpm/output_tpm`).
struct KeyLimits: Sendable {
    var figures: [Int?]
}

/// The figures of one key over a run: what was sent and answered, the most admitted in any
/// 60-second span (by send time) per dimension, and the latency percentiles.
struct KeySummary {
    var key: String
    var sent = 0
    var ok = 0
    var limited = 0
    var other = 0
    /// Requests, input tokens, output tokens: the most in any 60 s span.
    var peak = [0, 0, 0]
    var p50 = 0.0, p95 = 0.0, p99 = 0.0

    init(key: String, samples: [Sample]) {
        self.key = key
        sent = samples.count
        ok = samples.filter { $0.status == 200 }.count
        limited = samples.filter { $0.status == 429 }.count
        other = sent - ok - limited
        let admitted = samples.filter { $0.status == 200 }.sorted { $0.sent < $1.sent }
        let figures: [(Sample) -> Int] = [{ _ in 1 }, { $0.input }, { $0.output }]
        for (dimension, figure) in figures.enumerated() {
            var total = 0
            var first = 0
            for sample in admitted {
                total += figure(sample)
                while admitted[first].sent <= sample.sent - 60 {
                    total -= figure(admitted[first])
                    first += 1
                }
                peak[dimension] = max(peak[dimension], total)
            }
        }
        let latencies = samples.map(\.latency).sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        p50 = percentile(0.50)
        p95 = percentile(0.95)
        p99 = percentile(0.99)
    }
}

enum LoadReport {
    static let dimensions = ["requests", "input tokens", "output tokens"]

    /// The table printed at the end of a run.
    static func table(_ summaries: [KeySummary], limits: [String: KeyLimits], seconds: Double) -> String {
        var lines = ["key          sent    200    429  other | peak per 60 s: requests (limit, used)  input tokens (limit, used)  output tokens (limit, used) | p50 / p95 / p99 ms"]
        for summary in summaries {
            var cells: [String] = []
            for dimension in 0 ..< 3 {
                let limit = limits[summary.key]?.figures[dimension] ?? nil
                let used = limit.map { String(format: "%.1f%%", 100 * Double(summary.peak[dimension]) / Double($0)) } ?? "-"
                cells.append("\(summary.peak[dimension]) (\(limit.map(String.init) ?? "-"), \(used))")
            }
            lines.append(
                summary.key.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: " %6d %6d %6d %6d | ", summary.sent, summary.ok, summary.limited, summary.other)
                    + cells.joined(separator: "  ")
                    + String(format: " | %.1f / %.1f / %.1f", summary.p50 * 1000, summary.p95 * 1000, summary.p99 * 1000)
            )
        }
        lines.append(String(format: "%.1f s", seconds))
        return lines.joined(separator: "\n")
    }

    /// The HTML report: the table, then per key and dimension the admitted figure per 5-second
    /// segment (stacked by node), its sum over the last 60 s and the limit; then the latencies.
    static func html(_ samples: [Sample], keys: [String], summaries: [KeySummary], limits: [String: KeyLimits], table: String) -> String {
        var charts = ""
        let nodes = Array(Set(samples.map { $0.node.isEmpty ? "?" : $0.node })).sorted()
        for (index, key) in keys.enumerated() {
            let admitted = samples.filter { $0.key == index && $0.status == 200 }
            for (dimension, name) in dimensions.enumerated() {
                let figures: [(Sample) -> Int] = [{ _ in 1 }, { $0.input }, { $0.output }]
                let figure = figures[dimension]
                let limit = limits[key]?.figures[dimension] ?? nil
                if dimension > 0, limit == nil, admitted.allSatisfy({ figure($0) == 0 }) { continue }
                charts += "<h3>\(escape(key)): admitted \(name) per 5 s segment</h3>\n"
                charts += SegmentChart(samples: admitted, nodes: nodes, figure: figure, limit: limit).svg
            }
        }
        charts += "<h3>Latency</h3>\n" + LatencyHistogram(latencies: samples.map(\.latency)).svg
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>bulwark-load report</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:980px} pre{background:#f6f6f6;padding:1em;overflow-x:auto} svg{display:block;margin-bottom:1.5em}</style>
            </head><body>
            <h1>bulwark-load</h1>
            <p>\(samples.count) requests. Peaks are the most admitted in any 60-second span, by send time.</p>
            <pre>\(escape(table))</pre>
            \(charts)
            </body></html>
            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Bars per 5-second segment, stacked by node; a line for the sum over the last 60 s; a dashed
/// line for the limit.
struct SegmentChart {
    var samples: [Sample]
    var nodes: [String]
    var figure: (Sample) -> Int
    var limit: Int?

    var svg: String {
        let width = 900.0, height = 260.0, left = 70.0, bottom = 30.0, margin = 20.0
        let segments = max(1, Int(((samples.map(\.sent).max() ?? 0) / 5).rounded(.up)) + 1)
        var perNode = [[Int]](repeating: [Int](repeating: 0, count: segments), count: nodes.count)
        for sample in samples {
            let node = nodes.firstIndex(of: sample.node.isEmpty ? "?" : sample.node) ?? 0
            perNode[node][min(segments - 1, Int(sample.sent / 5))] += figure(sample)
        }
        let totals = (0 ..< segments).map { segment in perNode.reduce(0) { $0 + $1[segment] } }
        let sliding = (0 ..< segments).map { segment in totals[max(0, segment - 11) ... segment].reduce(0, +) }
        let top = Double(max(limit ?? 0, sliding.max() ?? 0, 1)) * 1.1
        let plotWidth = width - left - 160, plotHeight = height - bottom - margin
        func x(_ segment: Double) -> Double { left + plotWidth * segment / Double(segments) }
        func y(_ value: Double) -> Double { margin + plotHeight * (1 - value / top) }
        let colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"]
        var body = ""
        for segment in 0 ..< segments {
            var base = 0.0
            for node in nodes.indices where perNode[node][segment] > 0 {
                let value = Double(perNode[node][segment])
                body += String(format: ##"<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%@"/>"##,
                               x(Double(segment)) + 1, y(base + value), max(1, plotWidth / Double(segments) - 2), y(base) - y(base + value), colors[node % colors.count])
                base += value
            }
        }
        let points = (0 ..< segments).map { String(format: "%.1f,%.1f", x(Double($0) + 1), y(Double(sliding[$0]))) }.joined(separator: " ")
        body += ##"<polyline points="\##(points)" fill="none" stroke="#333" stroke-width="2"/>"##
        if let limit {
            body += String(format: ##"<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d00" stroke-dasharray="6 4"/>"##, left, left + plotWidth, y(Double(limit)), y(Double(limit)))
        }
        // Axes, ticks and the legend.
        body += String(format: ##"<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000"/>"##, left, left + plotWidth, y(0), y(0))
        body += String(format: ##"<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000"/>"##, left, left, y(0), y(top))
        for tick in 0 ... 4 {
            let value = top * Double(tick) / 4
            body += String(format: ##"<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%d</text>"##, left - 6, y(value) + 4, Int(value))
        }
        for segment in stride(from: 0, through: segments, by: max(1, segments / 10)) {
            body += String(format: ##"<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%ds</text>"##, x(Double(segment)), height - 10, segment * 5)
        }
        var legend = [("last 60 s", "#333")] + nodes.enumerated().map { ("node \($1)", colors[$0 % colors.count]) }
        if limit != nil { legend.append(("limit", "#d00")) }
        for (row, item) in legend.enumerated() {
            let ly = margin + 16 * Double(row)
            body += String(format: ##"<rect x="%.1f" y="%.1f" width="12" height="12" fill="%@"/><text x="%.1f" y="%.1f" font-size="12">%@</text>"##,
                           width - 150, ly, item.1, width - 132, ly + 10, LoadReport.escape(item.0))
        }
        return ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" role="img">\##(body)</svg>"## + "\n"
    }
}

/// Requests per latency bucket (1 ms, 2 ms, 5 ms, 10 ms … 10 s).
struct LatencyHistogram {
    var latencies: [Double]

    var svg: String {
        let bounds = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, .infinity]
        let labels = ["≤1ms", "≤2ms", "≤5ms", "≤10ms", "≤20ms", "≤50ms", "≤100ms", "≤200ms", "≤500ms", "≤1s", "≤2s", "≤5s", "≤10s", ">10s"]
        var counts = [Int](repeating: 0, count: bounds.count)
        for latency in latencies { counts[bounds.firstIndex { latency <= $0 } ?? bounds.count - 1] += 1 }
        let width = 900.0, height = 220.0, left = 70.0, bottom = 30.0, top = 10.0
        let peak = Double(max(counts.max() ?? 1, 1))
        let bar = (width - left - 20) / Double(bounds.count)
        var body = ""
        for (index, count) in counts.enumerated() {
            let h = (height - bottom - top) * Double(count) / peak
            body += String(format: ##"<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4e79a7"/>"##, left + bar * Double(index) + 2, height - bottom - h, bar - 4, h)
            body += String(format: ##"<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%@</text>"##, left + bar * (Double(index) + 0.5), height - 10, labels[index])
            if count > 0 {
                body += String(format: ##"<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%d</text>"##, left + bar * (Double(index) + 0.5), height - bottom - h - 3, count)
            }
        }
        body += String(format: ##"<text x="%.1f" y="%.1f" font-size="12" text-anchor="end">requests</text>"##, left - 6, top + 12)
        return ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" role="img">\##(body)</svg>"## + "\n"
    }
}
