public import BulwarkCore
public import CoreMetrics
public import Logging
public import Tracing
import Instrumentation
import ServiceContextModule

/// Maps Bulwark's events to swift-log, swift-metrics and swift-distributed-tracing, following
/// those libraries' rules for libraries: it never bootstraps a backend, takes an optional logger,
/// metrics factory and tracer (the globals otherwise), creates each metric once, uses only bounded
/// label values, and resolves the tracer on every event.
///
/// - **Logs**: one entry per event, named by `ResilienceEvent/Kind/name`, with the policy's
///   name, the operation and the event's figures as metadata; at `debug` for the routine
///   (denials, queueing, retries scheduled, fallbacks used), `notice` for what an operator should
///   know (retries refused, alternatives skipped or failed, budget debt), `warning` for a breaker
///   opening and a timeout firing.
/// - **Metrics**: `bulwark_events_total{source, event}` counts every event;
///   `bulwark_circuit_state{source}` is a gauge of each breaker's state (0 closed, 1 half-open,
///   2 open, 3 forced open, 4 disabled, 5 metrics-only); `bulwark_retry_delay{source}` times the
///   retries scheduled. Labels are the names the application gave its policies and the fixed
///   event names: never a partition key or an operation name, which are unbounded.
/// - **Traces**: the event is added to the span active in the caller's task-local
///   `ServiceContext`, if the tracer has one.
///
///     let telemetry = TelemetryObserver(logger: Logger(label: "gateway.resilience"))
///     breaker.events.attach(telemetry, as: "openai")
///     limiter.events.attach(telemetry, as: "openai.rpm")
public final class TelemetryObserver: ResilienceObserver {
    private let logger: Logger
    private let factory: (any MetricsFactory)?
    private let tracer: (any Tracer)?
    private let prefix: String
    private let counters = LockedValue<[MetricKey: Counter]>([:])
    private let gauges = LockedValue<[String: Gauge]>([:])
    private let timers = LockedValue<[MetricKey: Timer]>([:])

    private struct MetricKey: Hashable {
        var source: String
        var name: String
    }

    /// Creates an observer.
    ///
    /// - Parameters:
    ///   - logger: Where to log; a logger labelled `"bulwark"` on the global backend when `nil`.
    ///   - factory: The metrics factory; the global `MetricsSystem.factory` when `nil`.
    ///   - tracer: The tracer; `InstrumentationSystem.tracer`, read on every event, when `nil`.
    ///   - prefix: The prefix of the metric labels.
    public init(
        logger: Logger? = nil, factory: (any MetricsFactory)? = nil, tracer: (any Tracer)? = nil, prefix: String = "bulwark"
    ) {
        self.logger = logger ?? Logger(label: "bulwark")
        self.factory = factory
        self.tracer = tracer
        self.prefix = prefix
    }

    /// Logs, counts and traces the event.
    public func observe(_ event: ResilienceEvent) {
        log(event)
        count(event)
        trace(event)
    }

    private func log(_ event: ResilienceEvent) {
        let level = event.kind.logLevel
        guard logger.logLevel <= level else { return }
        let details = event.kind.details
        var metadata: Logger.Metadata = ["bulwark.source": "\(event.source)"]
        if let context = event.context {
            metadata["bulwark.operation"] = "\(context.operationName)"
            metadata["bulwark.attempt"] = "\(context.attempt)"
        }
        for (key, value) in details { metadata["bulwark.\(key)"] = "\(value)" }
        logger.log(level: level, "\(event.kind.name)", metadata: metadata)
    }

    private func count(_ event: ResilienceEvent) {
        let name = event.kind.name
        let counter = counters.withLock { counters in
            let key = MetricKey(source: event.source, name: name)
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "\(prefix)_events_total", dimensions: [("source", event.source), ("event", name)], factory: metricsFactory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        switch event.kind {
        case .circuitStateChanged(_, let to):
            gauge(for: event.source).record(to.code)
        case .detail(let detail):
            if let (metric, value) = detail.base.measurement {
                timer(metric, for: event.source).recordNanoseconds(value.saturatingNanoseconds)
            }
        default:
            break
        }
    }

    private func trace(_ event: ResilienceEvent) {
        let tracer = self.tracer ?? InstrumentationSystem.tracer
        guard let context = ServiceContext.current, let span = tracer.activeSpan(identifiedBy: context) else { return }
        let details = event.kind.details
        var attributes = SpanAttributes()
        attributes["bulwark.source"] = event.source
        for (key, value) in details { attributes["bulwark.\(key)"] = value }
        span.addEvent(SpanEvent(name: "bulwark.\(event.kind.name)", attributes: attributes))
    }

    private var metricsFactory: any MetricsFactory {
        factory ?? MetricsSystem.factory
    }

    private func gauge(for source: String) -> Gauge {
        gauges.withLock { gauges in
            if let gauge = gauges[source] { return gauge }
            let gauge = Gauge(label: "\(prefix)_circuit_state", dimensions: [("source", source)], factory: metricsFactory)
            gauges[source] = gauge
            return gauge
        }
    }

    private func timer(_ metric: String, for source: String) -> Timer {
        timers.withLock { timers in
            let key = MetricKey(source: source, name: metric)
            if let timer = timers[key] { return timer }
            let timer = Timer(label: "\(prefix)_\(metric)", dimensions: [("source", source)], factory: metricsFactory)
            timers[key] = timer
            return timer
        }
    }
}

extension CircuitState {
    /// The gauge value of the state.
    fileprivate var code: Int {
        switch self {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        case .forcedOpen: 3
        case .disabled: 4
        case .metricsOnly: 5
        }
    }
}

extension ResilienceEvent.Kind {
    /// The level an operator wants this event logged at.
    fileprivate var logLevel: Logger.Level {
        switch self {
        case .circuitStateChanged(_, let to) where to == .open || to == .forcedOpen: .warning
        case .circuitStateChanged, .limiterQueueFull: .notice
        case .limiterDenied, .limiterQueued, .limiterWaitTimedOut, .circuitRejected: .debug
        case .detail(let detail):
            switch detail.base.severity {
            case .debug: .debug
            case .notice: .notice
            case .warning: .warning
            }
        }
    }

    /// The event's figures as key–value pairs, for log metadata and span attributes.
    fileprivate var details: [(String, String)] {
        switch self {
        case .limiterDenied(let cost, let retryAfter): [("cost", "\(cost)"), ("retry_after_ns", "\(retryAfter.saturatingNanoseconds)")]
        case .limiterQueued(let cost, let waiting): [("cost", "\(cost)"), ("waiting", "\(waiting)")]
        case .limiterQueueFull(let cost, let limit): [("cost", "\(cost)"), ("queue_limit", "\(limit)")]
        case .limiterWaitTimedOut(let cost): [("cost", "\(cost)")]
        case .circuitStateChanged(let from, let to): [("from", "\(from)"), ("to", "\(to)")]
        case .circuitRejected(let state, let retryAfter):
            [("state", "\(state)")] + (retryAfter.map { [("retry_after_ns", "\($0.saturatingNanoseconds)")] } ?? [])
        case .detail(let detail): detail.base.attributes
        }
    }
}
