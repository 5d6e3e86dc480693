// Scenario "agent-guard": the agent runtime's task guard (Playgrounds/AgentGuard), an hour of
// traffic at two loads against five simulated providers, one of which fails for ten minutes.
// `swift run bulwark-agent-guard` runs more loads.
import BulwarkSimulations

func agentGuardScenario() async throws {
    printAgentGuardReport([try await runAgentGuard(tasksPerMinute: 110), try await runAgentGuard(tasksPerMinute: 135)])
    print("  While every provider is up the guard meets all four targets at 135 tasks/min; utilisation enters the")
    print("  85-95 % band only above 130/min (84.5 % there), because the RPM quotas cap what some slots can do.")
    print("  With anthropic down the others answer about 105 calls a minute (1,054 in those ten minutes at 135/min),")
    print("  so a load above that loses its least urgent tasks to the 60 s queue timeout: over the whole hour,")
    print("  > 99 % success holds up to about 110/min. The four targets cannot all hold through a 40-RPM outage.")
}
