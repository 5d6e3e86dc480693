// The floor of this machine, measured in the same run as the limiters: what one clock read, one
// uncontended compare-exchange and one mutex lock/unlock cost. A limiter decision cannot be
// cheaper than a clock read plus one atomic update; a decision on one key among a million cannot
// be cheaper than one random read of memory the size of their table.
import Benchmark
import BenchmarkSupport
import BulwarkCore
import BulwarkEngine
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

    Benchmark("Random read of a 90 MB array (each read depends on the previous)") { benchmark in
        // 90 MB: the size of the partitioned limiter's table at 1,000,000 keys. Each index depends
        // on the value read before, so the reads cannot overlap: one cache (and TLB) miss each.
        let count = 90_000_000 / MemoryLayout<Int>.stride
        let values = (0 ..< count).map { $0 }
        var index = 12_345
        var sum = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index = (index &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            sum &+= values[(index ^ (sum & 1)) % count]
        }
        benchmark.stopMeasurement()
        blackHole(sum)
    }
}
