#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a resource monitor reads its figures: the files of `/proc` and of the cgroup v2
/// hierarchy, the clock-tick rate and the count of online CPUs.
///
/// ``SystemResourceSource`` reads the real ones; a test gives fake contents.
public protocol ResourceSource: Sendable {
    /// The contents of the file at `path`, or `nil` when it cannot be read.
    func read(_ path: String) -> String?
    /// The unit of `/proc`'s CPU times, per second (`sysconf(_SC_CLK_TCK)`, usually 100).
    var clockTicksPerSecond: Int { get }
    /// The CPUs online on the machine.
    var onlineCPUs: Int { get }
    /// The size of a memory page in bytes (the unit of `/proc/self/statm`).
    var pageSize: Int { get }
}

extension ResourceSource {
    /// 4,096 bytes, the page size of most Linux machines.
    public var pageSize: Int { 4096 }
}

/// The machine's own `/proc` and `/sys/fs/cgroup`.
public struct SystemResourceSource: ResourceSource {
    /// Creates the source.
    public init() {}

    /// Reads a whole (small) file with `open` and `read`; `nil` on any error.
    public func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = readSome(descriptor, into: &buffer)
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += buffer[0 ..< count]
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `sysconf(_SC_CLK_TCK)`.
    public var clockTicksPerSecond: Int { max(1, sysconf(Int32(_SC_CLK_TCK))) }

    /// `sysconf(_SC_NPROCESSORS_ONLN)`.
    public var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// `sysconf(_SC_PAGESIZE)`.
    public var pageSize: Int { max(1, sysconf(Int32(_SC_PAGESIZE))) }
}

/// `read(2)` into `buffer`: the bytes read, 0 at the end, negative on an error.
private func readSome(_ descriptor: Int32, into buffer: inout [UInt8]) -> Int {
    buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
}
