/// The parsing of `/proc` and cgroup v2 files, pure functions of their text.
enum ProcParsing {
    /// Busy and total ticks from the first line of `/proc/stat`
    /// (`cpu user nice system idle iowait irq softirq steal …`): idle and iowait are not busy;
    /// guest times are already inside user and nice.
    static func systemTicks(_ stat: String) -> (busy: Int64, total: Int64)? {
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard fields.count >= 4 else { return nil }
        let counted = Array(fields.prefix(8))
        let total = counted.reduce(0, +)
        let idle = counted[3] + (counted.count > 4 ? counted[4] : 0)
        return (total - idle, total)
    }

    /// `utime + stime` (fields 14 and 15) of `/proc/self/stat`, read after the command name's
    /// closing parenthesis (the name may hold spaces).
    static func processTicks(_ stat: String) -> Int64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        return user + system
    }

    /// The resident pages: the second field of `/proc/self/statm`.
    static func residentPages(_ statm: String) -> Int64? {
        let fields = statm.split(separator: " ")
        return fields.count > 1 ? Int64(fields[1].trimmingWhitespace) : nil
    }

    /// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in kB.
    static func memory(_ meminfo: String) -> (total: Int64, available: Int64)? {
        var total: Int64?
        var available: Int64?
        for line in meminfo.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Int64(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { total = value }
            if parts[0] == "MemAvailable:" { available = value }
        }
        guard let total, let available else { return nil }
        return (total, available)
    }
}

extension Substring {
    var trimmingWhitespace: Substring {
        var text = self
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        return text
    }
}

/// This process's cgroup v2 files: its directory from `/proc/self/cgroup` (`0::/path`), under
/// `/sys/fs/cgroup`.
struct CgroupFiles {
    let source: any ResourceSource
    let directory: String?

    init(source: any ResourceSource) {
        self.source = source
        let line = source.read("/proc/self/cgroup")?.split(separator: "\n").first { $0.hasPrefix("0::") }
        guard let line else {
            directory = nil
            return
        }
        let path = line.dropFirst(3).trimmingWhitespace
        let candidate = "/sys/fs/cgroup" + (path == "/" ? "" : String(path))
        // A container's namespace shows "/" while the files are at the root; a host shows the path.
        if source.read(candidate + "/cgroup.controllers") != nil {
            directory = candidate
        } else {
            directory = source.read("/sys/fs/cgroup/cgroup.controllers") != nil ? "/sys/fs/cgroup" : nil
        }
    }

    func read(_ name: String) -> Substring? {
        directory.flatMap { source.read($0 + "/" + name) }.map { Substring($0).trimmingWhitespace }
    }

    /// `cpu.max` (`"quota period"` or `"max period"`) as CPUs, when limited.
    var cpuLimit: Double? {
        guard let fields = read("cpu.max")?.split(separator: " "), fields.count == 2,
              let quota = Double(fields[0]), let period = Double(fields[1]), period > 0 else { return nil }
        return quota / period
    }

    /// `usage_usec` of `cpu.stat`.
    var usageMicroseconds: Int64? {
        read("cpu.stat")?.split(separator: "\n").first { $0.hasPrefix("usage_usec ") }.flatMap { Int64($0.dropFirst(11)) }
    }

    /// `memory.max` in bytes, when limited (`"max"` is not).
    var memoryLimit: Int64? { read("memory.max").flatMap { Int64($0) } }

    /// `memory.current` in bytes.
    var memoryCurrent: Int64? { read("memory.current").flatMap { Int64($0) } }
}
