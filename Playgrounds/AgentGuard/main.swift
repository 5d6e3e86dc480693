// bulwark-agent-guard: the agent runtime's task guard, built from Bulwark's parts, run for an
// hour of virtual time at several loads against five simulated providers (one fails for ten
// minutes), with each of its authors' targets printed beside what was measured.
//
//     swift run bulwark-agent-guard            # the default loads
//     swift run bulwark-agent-guard 100 140    # tasks per minute
import BulwarkSimulations

let loads = CommandLine.arguments.dropFirst().compactMap(Double.init)
var reports: [GuardReport] = []
for load in loads.isEmpty ? [110, 135, 150] : loads {
    reports.append(try await runAgentGuard(tasksPerMinute: load))
}
printAgentGuardReport(reports)
