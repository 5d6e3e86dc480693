// The floor of this machine, measured in the same run as the limiters: what one clock read, one
// uncontended compare-exchange and one mutex lock/unlock cost. A limiter decision cannot be
// cheaper than a clock read plus one atomic update.
import Benchmark
import BenchmarkSupport
import BulwarkCore
import Synchronization

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = nanosecondConfiguration()

    Benchmark("ContinuousClock.now") { benchmark in
        let clock = ContinuousClock()
        for _ in benchmark.scaledIterations {
            blackHole(clock.now)
        }
    }

    Benchmark("ContinuousClock.nowNanoseconds") { benchmark in
        let clock = ContinuousClock()
        for _ in benchmark.scaledIterations {
            blackHole(clock.nowNanoseconds)
        }
    }

    Benchmark("CachedClock.nowNanoseconds") { benchmark in
        let clock = try CachedClock()
        for _ in benchmark.scaledIterations {
            blackHole(clock.nowNanoseconds)
        }
    }

    Benchmark("Duration.components to nanoseconds") { benchmark in
        let start = ContinuousClock.now
        let duration = start.duration(to: ContinuousClock.now)
        for _ in benchmark.scaledIterations {
            blackHole(duration.saturatingNanoseconds)
        }
    }

    Benchmark("Atomic.compareExchange") { benchmark in
        let atomic = Atomic<Int64>(0)
        var expected: Int64 = 0
        for _ in benchmark.scaledIterations {
            let (_, original) = atomic.compareExchange(
                expected: expected, desired: expected &+ 1, ordering: .acquiringAndReleasing
            )
            expected = original &+ 1
        }
        blackHole(atomic.load(ordering: .relaxed))
    }

    Benchmark("Mutex.withLock") { benchmark in
        let mutex = Mutex<Int64>(0)
        for _ in benchmark.scaledIterations {
            mutex.withLock { $0 &+= 1 }
        }
        blackHole(mutex.withLock { $0 })
    }
}
