// bulwark-memory-probe: weighs a job queue in a process of its own, so that no other test's
// allocations disturb glibc's counters (they count the whole process).
//
//     bulwark-memory-probe <FIFO|fair|priority|deadline> <jobs>
//
// prints "<bytes a job beyond the payload> <bytes kept after the drain>", or "unmeasurable" where
// glibc's malloc is not the allocator (the thread sanitizer's) or the call below does not apply.
import BulwarkCore
import BulwarkEngine
import BulwarkQueues
import BulwarkTestKit
import Glibc

/// The bytes allocated from malloc (small blocks and mapped ones), from glibc's `mallinfo2`, which
/// the Glibc module does not import: called through its address, with the x86-64 convention for a
/// returned structure (the caller's buffer, in the first argument).
func allocatedBytes() -> Int? {
    #if arch(x86_64)
    guard dlsym(nil, "__tsan_init") == nil, let symbol = dlsym(nil, "mallinfo2") else { return nil }
    typealias MallInfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
    var fields = [Int](repeating: 0, count: 10)  // arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost
    fields.withUnsafeMutableBytes { _ = unsafeBitCast(symbol, to: MallInfo2.self)($0.baseAddress!) }
    return fields[7] + fields[4]
    #else
    return nil
    #endif
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count > 0 else {
    print("usage: bulwark-memory-probe <FIFO|fair|priority|deadline> <jobs>")
    exit(2)
}
let name = arguments[1]
let partitions = ["a", "b", "c", "d", "e", "f", "g", "h"]
var random = SplitMix64(seed: 12)
let deadlines = (0 ..< count).map { _ in Int64(1 << 40) + Int64(random.next() % (1 << 30)) }
guard let before = allocatedBytes() else {
    print("unmeasurable")
    exit(0)
}
let order: any WaitOrder = switch name {
case "fair": try FairWaitOrder()
case "priority": try PriorityWaitOrder()
case "deadline": DeadlineWaitOrder()
default: FIFOWaitOrder()
}
let queue = try JobQueue<Int, ManualClock>(order: order, capacity: count, clock: ManualClock())
for index in 0 ..< count {
    try queue.enqueue(
        index, priority: Priority(rawValue: index % 3), partitionKey: name == "fair" ? partitions[index % 8] : nil,
        deadline: .at(NanosecondInstant(nanoseconds: deadlines[index]))
    )
}
let full = allocatedBytes() ?? before
while queue.tryDequeue() != nil {}
let kept = (allocatedBytes() ?? before) - before
withExtendedLifetime(queue) {}
print(Double(full - before) / Double(count) - Double(MemoryLayout<Int>.stride), kept)
