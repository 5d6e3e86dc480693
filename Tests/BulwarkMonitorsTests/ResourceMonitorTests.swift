import BulwarkMonitors
import BulwarkTestKit
import BulwarkTestSupport
import Synchronization
import Testing

@Suite("Resource monitor", .timeLimit(minutes: 1))
struct ResourceMonitorTests {
    @Test("outside a container: the machine's CPU from /proc/stat deltas, memory from MemAvailable, smoothed")
    func machine() throws {
        let clock = ManualClock()
        let files = FakeFiles()
        let monitor = try ResourceMonitor(interval: .seconds(1), smoothing: 0.5, source: files, clock: clock)
        files.machine(busy: 1000, idle: 1000, processTicks: 100)
        #expect(monitor.sample() == .available)
        var usage = try #require(monitor.latest)
        #expect(usage.cpu == nil && usage.memory == 0.75 && usage.processMemoryBytes == 300 * 4096)
        #expect(usage.cpuLimit == 8 && !usage.inContainer)
        clock.advance(by: .seconds(1))
        files.machine(busy: 1600, idle: 1400, processTicks: 500, availableKB: 500)  // 600 of 1000 ticks busy; 4 s of CPU
        monitor.sample()
        usage = try #require(monitor.latest)
        #expect(usage.cpu == 0.6 && usage.systemCPU == 0.6)
        #expect(usage.processCPU == 0.5)  // 4 CPU-seconds in 1 s over 8 CPUs
        #expect(usage.memory == 0.625)  // halfway from 0.75 toward 0.5
        clock.advance(by: .seconds(1))
        files.machine(busy: 1800, idle: 2200, processTicks: 500, availableKB: 500)  // 200 of 1000: 0.2
        monitor.sample()
        #expect(monitor.latest?.cpu == 0.4)  // smoothed: 0.6 + 0.5 × (0.2 − 0.6)
    }

    @Test("inside a cgroup v2 container: CPU over the quota from cpu.stat, memory over memory.max")
    func container() throws {
        let clock = ManualClock()
        let files = FakeFiles()
        files.machine(busy: 0, idle: 100, processTicks: 0)
        files["/proc/self/cgroup"] = "0::/\n"
        files["/sys/fs/cgroup/cgroup.controllers"] = "cpu memory\n"
        files["/sys/fs/cgroup/cpu.max"] = "200000 100000\n"  // 2 CPUs
        files["/sys/fs/cgroup/memory.max"] = "1073741824\n"
        files["/sys/fs/cgroup/memory.current"] = "268435456\n"
        files["/sys/fs/cgroup/cpu.stat"] = "usage_usec 1000000\nuser_usec 1\n"
        let monitor = try ResourceMonitor(interval: .seconds(1), smoothing: 1, source: files, clock: clock)
        monitor.sample()
        clock.advance(by: .seconds(2))
        files["/sys/fs/cgroup/cpu.stat"] = "usage_usec 4000000\nuser_usec 1\n"  // 3 CPU-seconds in 2 s of 2 CPUs
        files.machine(busy: 10, idle: 190, processTicks: 300)
        monitor.sample()
        let usage = try #require(monitor.latest)
        #expect(usage.inContainer && usage.cpuLimit == 2 && usage.memoryLimitBytes == 1 << 30)
        #expect(usage.cpu == 0.75 && usage.memory == 0.25)
        #expect(usage.systemCPU == 0.1)
        #expect(usage.processCPU == 0.75)  // 3 s of CPU in 2 s over 2 CPUs
    }

    @Test("a host's cgroup path, and an unlimited cgroup (\"max\"), fall back to the machine's figures")
    func unlimited() throws {
        let files = FakeFiles()
        files.machine(busy: 0, idle: 100, processTicks: 0)
        files["/proc/self/cgroup"] = "0::/system.slice/app.service\n"
        files["/sys/fs/cgroup/system.slice/app.service/cgroup.controllers"] = "cpu\n"
        files["/sys/fs/cgroup/system.slice/app.service/cpu.max"] = "max 100000\n"
        files["/sys/fs/cgroup/system.slice/app.service/memory.max"] = "max\n"
        let monitor = try ResourceMonitor(source: files, clock: ManualClock())
        monitor.sample()
        let usage = try #require(monitor.latest)
        #expect(!usage.inContainer && usage.cpuLimit == 8 && usage.memory == 0.75)
    }

    @Test("without /proc the monitor says it is unavailable, never zero")
    func unavailable() throws {
        let monitor = try ResourceMonitor(source: FakeFiles(), clock: ManualClock())
        #expect(monitor.availability == .unavailable(reason: "not sampled yet"))
        guard case .unavailable(let reason) = monitor.sample() else { Issue.record("available"); return }
        #expect(reason.contains("/proc"))
        #expect(monitor.latest == nil)
        #expect(throws: BulwarkError.invalidConfiguration(field: "smoothing", rule: "must be in 0 < s <= 1 (got 0.0)")) {
            try ResourceMonitor(smoothing: 0, source: FakeFiles(), clock: ManualClock())
        }
    }

    @Test("this machine: the real /proc reads (where there is one)")
    func real() throws {
        let monitor = try ResourceMonitor(interval: .seconds(1))
        #if os(Linux)
        #expect(monitor.sample() == .available)
        let memory = try #require(monitor.latest?.memory)
        #expect(memory > 0 && memory < 1)
        #expect((monitor.latest?.processMemoryBytes ?? 0) > 0)
        #else
        #expect(monitor.sample() != .available)
        #endif
    }
}
