public import BulwarkMonitors
public import ServiceLifecycle

/// A `PeriodicWork` (a resource monitor, a health checker, a degradation controller) as a
/// swift-service-lifecycle `Service`: it runs until graceful shutdown or cancellation.
///
/// The work itself needs only the toolchain; this module is the one place that knows
/// swift-service-lifecycle, so a user who runs monitors in a task of their own never fetches it.
///
///     let group = ServiceGroup(
///         services: [resources.service, health.service, degradation.service, httpServer],
///         gracefulShutdownSignals: [.sigterm], logger: logger
///     )
///     try await group.run()
public struct LifecycleService<Work: PeriodicWork>: Service {
    /// The work this service runs.
    public let work: Work

    /// Wraps `work`.
    public init(_ work: Work) {
        self.work = work
    }

    /// Runs the work, cancelling it when graceful shutdown is triggered.
    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await work.run() }
    }
}

extension PeriodicWork {
    /// This work as a swift-service-lifecycle `Service` that stops on graceful shutdown.
    public var service: LifecycleService<Self> { LifecycleService(self) }
}
