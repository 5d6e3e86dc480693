import BulwarkCore
import ServiceLifecycle

/// Runs `body` now and then every `interval` nanoseconds on `clock`, on a fixed grid (a body that
/// overruns is followed at once by the next, not pushed later), until graceful shutdown or
/// cancellation: the loop of the monitors' and checkers' `Service`s.
package func runPeriodically<C: NanosecondClock>(every interval: Int64, on clock: C, _ body: @escaping @Sendable () async -> Void) async {
    await cancelWhenGracefulShutdown {
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
}
