import BulwarkCore

/// Work that runs in the background until its task is cancelled: the resource monitor's sampling,
/// the health checker's evaluations, the degradation controller's rules.
///
/// Run it in a task of your own (`Task { try await monitor.run() }`, cancelled at shutdown), or
/// hand it to swift-service-lifecycle through `BulwarkLifecycle`, whose `.service` wrapper also
/// stops it on graceful shutdown:
///
///     let group = ServiceGroup(services: [health.service, httpServer], logger: logger)
public protocol PeriodicWork: Sendable {
    /// Works on the type's period until the task is cancelled, then returns.
    func run() async throws
}

/// Runs `body` now and then every `interval` nanoseconds on `clock`, on a fixed grid (a body that
/// overruns is followed at once by the next, not pushed later), until cancellation: the loop of
/// every `PeriodicWork` here.
package func runPeriodically<C: NanosecondClock>(every interval: Int64, on clock: C, _ body: @escaping @Sendable () async -> Void) async {
    var next = clock.nowNanoseconds
    while !Task.isCancelled {
        await body()
        next = max(next.addingSaturating(interval), clock.nowNanoseconds)
        do {
            try await clock.sleep(untilNanoseconds: next)
        } catch {
            return
        }
    }
}
