public import BulwarkCore

/// The service's CPU and memory, sampled every `interval` (it is `PeriodicWork`) from `/proc` and, in a
/// container, cgroup v2 (`cpu.max`, `cpu.stat`, `memory.current`, `memory.max`), and smoothed.
///
/// - **cpu**: inside a cgroup with a CPU limit, the cgroup's CPU time over its quota
///   (`usage_usec` per `max / period` CPUs); otherwise the machine's busy share from
///   `/proc/stat`. In `0 ... 1` (a cgroup above its quota for an instant can read a little more).
/// - **processCPU**: this process's CPU time (`utime + stime` of `/proc/self/stat`) over the CPUs
///   it may use (the cgroup quota, or the online CPUs).
/// - **memory**: inside a cgroup with a memory limit, `memory.current / memory.max`; otherwise
///   `1 − MemAvailable / MemTotal` from `/proc/meminfo`.
/// - **processMemoryBytes**: this process's resident set (`/proc/self/statm`).
///
/// CPU figures are rates, so they appear from the second sample on. Each figure is smoothed
/// exponentially (`smoothing` of the new sample, the rest of the previous value). Where `/proc`
/// cannot be read (macOS, a sandbox), the monitor says so: ``availability`` is
/// ``ResourceAvailability/unavailable(reason:)`` and ``latest`` is `nil`, never zeros.
///
///     let resources = try ResourceMonitor(interval: .seconds(1))
///     // in the ServiceGroup (BulwarkLifecycle): resources.service
///     let protection = try SystemProtection(configuration: .init(cpuThreshold: 0.9)) { resources.latest?.cpu }
public final class ResourceMonitor<C: NanosecondClock>: PeriodicWork {
    /// The raw counters of one sample, for the next one's rates.
    struct Counters: Sendable {
        var at: Int64
        var systemBusy: Int64?
        var systemTotal: Int64?
        var processTicks: Int64?
        var cgroupMicroseconds: Int64?
    }

    struct State: Sendable {
        var previous: Counters?
        var latest: ResourceUsage?
        var availability = ResourceAvailability.unavailable(reason: "not sampled yet")
    }

    /// How often ``run()`` samples.
    public let interval: Duration
    /// The weight of a new sample in the smoothed figures, in `0 < s <= 1`.
    public let smoothing: Double
    /// Where the figures are read.
    public let source: any ResourceSource
    /// The clock the samples are timed on.
    public let clock: C
    let state: LockedValue<State>

    /// Creates a monitor (it samples when ``sample()`` or ``run()`` is called).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for an interval that is not
    ///   positive or a smoothing outside `0 < s <= 1`.
    public init(
        interval: Duration = .seconds(1), smoothing: Double = 0.5, source: any ResourceSource = SystemResourceSource(), clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        _ = try Validation.positiveNanoseconds(interval, field: "interval")
        guard smoothing > 0, smoothing <= 1 else {
            throw .invalidConfiguration(field: "smoothing", rule: "must be in 0 < s <= 1 (got \(smoothing))")
        }
        self.interval = interval
        self.smoothing = smoothing
        self.source = source
        self.clock = clock
        state = LockedValue(State())
    }

    /// The smoothed figures of the latest sample, or `nil` when unavailable or not sampled yet.
    public var latest: ResourceUsage? { state.withLock { $0.latest } }

    /// Whether the figures can be read here, and if not why.
    public var availability: ResourceAvailability { state.withLock { $0.availability } }

    /// Reads every figure now and folds it into the smoothed ones. Meant to be called by one task
    /// (``run()``): two samples at once may fold in out of order.
    @discardableResult
    public func sample() -> ResourceAvailability {
        let now = clock.nowNanoseconds
        guard let stat = source.read("/proc/stat"), let meminfo = source.read("/proc/meminfo") else {
            let reason = "/proc cannot be read here: CPU and memory figures need Linux"
            state.withLock { state in
                state.availability = .unavailable(reason: reason)
                state.latest = nil
            }
            return .unavailable(reason: reason)
        }
        let cgroup = CgroupFiles(source: source)
        let cgroupCPUs = cgroup.cpuLimit
        let memoryLimit = cgroup.memoryLimit
        let cpus = cgroupCPUs ?? Double(source.onlineCPUs)
        var counters = Counters(at: now)
        (counters.systemBusy, counters.systemTotal) = ProcParsing.systemTicks(stat) ?? (nil, nil)
        counters.processTicks = source.read("/proc/self/stat").flatMap(ProcParsing.processTicks)
        counters.cgroupMicroseconds = cgroup.usageMicroseconds
        var raw = ResourceUsage()
        raw.cpuLimit = cpus
        raw.memoryLimitBytes = memoryLimit
        raw.inContainer = cgroupCPUs != nil || memoryLimit != nil
        raw.processMemoryBytes = source.read("/proc/self/statm").flatMap(ProcParsing.residentPages).map { $0 * Int64(source.pageSize) }
        if let limit = memoryLimit, let current = cgroup.memoryCurrent, limit > 0 {
            raw.memory = Double(current) / Double(limit)
        } else if let (total, available) = ProcParsing.memory(meminfo), total > 0 {
            raw.memory = 1 - Double(available) / Double(total)
        }
        let ticks = Double(source.clockTicksPerSecond)
        return state.withLock { state in
            if let previous = state.previous, now > previous.at {
                let seconds = Double(now - previous.at) / 1e9
                if let busy = counters.systemBusy, let total = counters.systemTotal,
                   let busy0 = previous.systemBusy, let total0 = previous.systemTotal, total > total0 {
                    raw.systemCPU = Double(busy - busy0) / Double(total - total0)
                }
                if let ticksNow = counters.processTicks, let ticks0 = previous.processTicks {
                    raw.processCPU = Double(ticksNow - ticks0) / ticks / seconds / cpus
                }
                if cgroupCPUs != nil, let usage = counters.cgroupMicroseconds, let usage0 = previous.cgroupMicroseconds {
                    raw.cpu = Double(usage - usage0) / 1e6 / seconds / cpus
                } else {
                    raw.cpu = raw.systemCPU
                }
            }
            state.previous = counters
            state.latest = state.latest.map { $0.smoothed(toward: raw, weight: smoothing) } ?? raw
            state.availability = .available
            return .available
        }
    }

    /// Samples every `interval` until cancelled (or, run as `.service` in a `ServiceGroup`
    /// through `BulwarkLifecycle`, until graceful shutdown).
    public func run() async throws {
        await runPeriodically(every: interval.saturatingNanoseconds, on: clock) { self.sample() }
    }
}

/// Whether a resource monitor can read its figures.
public enum ResourceAvailability: Sendable, Hashable {
    /// The figures are read.
    case available
    /// They cannot be read here, for `reason`.
    case unavailable(reason: String)
}

/// A resource monitor's figures; `nil` where a figure cannot be read (or, for rates, before the
/// second sample).
public struct ResourceUsage: Sendable, Hashable {
    /// CPU busy share: the cgroup's over its quota in a container with a CPU limit, the
    /// machine's otherwise.
    public var cpu: Double?
    /// The machine's CPU busy share (`/proc/stat`).
    public var systemCPU: Double?
    /// This process's CPU time over the CPUs it may use.
    public var processCPU: Double?
    /// Memory in use: of the cgroup's limit in a container with one, of the machine's otherwise.
    public var memory: Double?
    /// This process's resident memory, in bytes.
    public var processMemoryBytes: Int64?
    /// The cgroup's memory limit in bytes, when there is one.
    public var memoryLimitBytes: Int64?
    /// The CPUs the process may use: the cgroup's quota, or the online CPUs.
    public var cpuLimit: Double?
    /// Whether a cgroup v2 CPU or memory limit applies.
    public var inContainer = false

    /// Creates figures, all unknown.
    public init() {}

    /// Each smoothed figure moved `weight` of the way toward `sample`'s; the others taken from it.
    func smoothed(toward sample: ResourceUsage, weight: Double) -> ResourceUsage {
        func blend(_ old: Double?, _ new: Double?) -> Double? {
            guard let new else { return nil }
            guard let old else { return new }
            return old + weight * (new - old)
        }
        var result = sample
        result.cpu = blend(cpu, sample.cpu)
        result.systemCPU = blend(systemCPU, sample.systemCPU)
        result.processCPU = blend(processCPU, sample.processCPU)
        result.memory = blend(memory, sample.memory)
        return result
    }
}
