import BulwarkCore

/// ``GroupQuotas``' counts in this process: the same steps as its Redis script
/// (`Scripts/group-quota.lua`), on the node's clock.
final class MemoryQuotaCounts: Sendable {
    enum Operation: Sendable { case begin, peek }

    private struct Count {
        var period: String
        var total: Int
        var success: Int
    }

    private struct State {
        var counts: [QuotaIdentity: Count] = [:]
        /// Decisions by minute since the epoch: admitted, refused, failed.
        var minutes: [Int64: (Int, Int, Int)] = [:]
        /// The period whose counts are kept: earlier ones are dropped when it changes.
        var period = ""
    }

    private let state = LockedValue(State())
    private let now: @Sendable () -> Int64

    init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// One decision (`begin`) or a look at the counts (`peek`).
    func decide(_ identity: QuotaIdentity, _ operation: Operation, settings: GroupQuotaSettings) -> GroupQuotas.Decision {
        let now = self.now()
        let length = settings.periodNanoseconds
        let index = now / length
        let period = "\(settings.periodMinutes):\(index)"
        let left = (index + 1) * length - now
        let limits = settings.limits(for: identity)
        let minute = now / 60_000_000_000
        return state.withLock { state in
            if state.period != period {
                state.counts = state.counts.filter { $0.value.period == period }
                state.period = period
                state.minutes = state.minutes.filter { $0.key > minute - 120 }
            }
            var count = state.counts[identity].flatMap { $0.period == period ? $0 : nil } ?? Count(period: period, total: 0, success: 0)
            func decision(_ allowed: Bool, _ refusal: GroupQuotas.Refusal?, call: Bool) -> GroupQuotas.Decision {
                GroupQuotas.Decision(
                    isAllowed: allowed, refusedBy: refusal, periodEndsInNanoseconds: left,
                    usage: .init(identity: identity, totalUsed: count.total, totalLimit: limits.total, successUsed: count.success, successLimit: limits.success),
                    call: call ? GroupQuotas.Call(identity: identity, period: period) : nil
                )
            }
            if operation == .peek { return decision(true, nil, call: false) }
            if !settings.enabled { return decision(true, nil, call: false) }
            let refusal: GroupQuotas.Refusal? =
                count.success + 1 > limits.success ? .success : limits.total > 0 && count.total + 1 > limits.total ? .total : nil
            var tally = state.minutes[minute] ?? (0, 0, 0)
            if refusal == nil { tally.0 += 1 } else { tally.1 += 1 }
            state.minutes[minute] = tally
            guard refusal == nil else { return decision(false, refusal, call: false) }
            count.total += 1
            count.success += 1
            state.counts[identity] = count
            return decision(true, nil, call: true)
        }
    }

    /// A failed call gives its success unit back, a cancelled one both, in its own period only.
    func undo(_ call: GroupQuotas.Call, cancel: Bool) {
        let minute = now() / 60_000_000_000
        state.withLock { state in
            if var count = state.counts[call.identity], count.period == call.period {
                count.success = max(0, count.success - 1)
                if cancel { count.total = max(0, count.total - 1) }
                state.counts[call.identity] = count
            }
            var tally = state.minutes[minute] ?? (0, 0, 0)
            if cancel { tally.0 -= 1 } else { tally.2 += 1 }
            state.minutes[minute] = tally
        }
    }

    /// The decisions of each of the last `minutes` minutes, oldest first.
    func history(minutes: Int) -> [GroupQuotas.Minute] {
        let last = now() / 60_000_000_000
        let range = (last - Int64(minutes) + 1)...last
        return state.withLock { state in
            range.map { minute in
                let tally = state.minutes[minute] ?? (0, 0, 0)
                return GroupQuotas.Minute(minute: minute, admitted: tally.0, refused: tally.1, failed: tally.2)
            }
        }
    }
}
