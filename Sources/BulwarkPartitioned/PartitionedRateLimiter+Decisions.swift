import BulwarkCore
import BulwarkEngine
public import Synchronization

/// Decisions on one key's partition: at once (under the shard's lock), or waiting in the engine.
extension PartitionedRateLimiter {
    @usableFromInline typealias Table = PartitionTable<Key, Shard.Entry>

    /// Decides `cost` for `key` at `now` without waiting; says at which reading an allowed cost
    /// was admitted. A new key's partition is kept only if a positive cost left its state unlike a
    /// fresh one.
    @inlinable
    package func tryAdmit(_ key: Key, cost: Int, at now: Int64) throws(BulwarkError) -> (decision: RateLimitDecision, admittedAt: Int64) {
        guard cost >= 0 else { throw invalidCost(cost, limit: 0) }
        let hash = Table.hash(of: key)
        return try shard(for: hash).withLock { shard throws(BulwarkError) in
            if let slot = shard.table.find(key, hash: hash) {
                let entry = shard.table.value(at: slot)
                if entry.pointee.isBusy {
                    let engine = shard.busy[key]!.engine
                    guard cost <= engine.limit else { throw invalidCost(cost, limit: engine.limit) }
                    return engine.tryAdmit(cost: cost, at: now)
                }
                var algorithm = templates[entry.pointee.template]
                guard cost <= algorithm.limit else { throw invalidCost(cost, limit: algorithm.limit) }
                swap(&algorithm.state, &entry.pointee.state)
                let decision = algorithm.tryConsume(cost, at: now)
                swap(&algorithm.state, &entry.pointee.state)
                return (decision, algorithm.updatedAt)
            }
            let template = try template(for: key)
            var algorithm = templates[template]
            guard cost <= algorithm.limit else { throw invalidCost(cost, limit: algorithm.limit) }
            algorithm.state = algorithm.freshState(at: now)
            let decision = algorithm.tryConsume(cost, at: now)
            // A probe creates nothing: the key's limiter starts at its first positive cost.
            if cost > 0, !algorithm.isFresh(at: now) {
                insert(key, hash: hash, state: algorithm.state, template: template, at: now, into: &shard)
            }
            return (decision, algorithm.updatedAt)
        }
    }

    /// Like ``acquire(_:cost:options:)``, and says at which reading the cost was admitted.
    @usableFromInline
    package func admit(
        _ key: Key, cost: Int, options: WaitOptions, reporting: EventChannel? = nil
    ) async throws -> (decision: RateLimitDecision, admittedAt: Int64) {
        switch await admission(key, cost: cost, options: options, context: nil, reporting: reporting) {
        case .success(let admitted): return (admitted.decision, admitted.admittedAt)
        case .rejected(let error): throw error
        case .failure(let error): throw error
        }
    }

    /// Like `admit(_:cost:options:reporting:)`, with a refusal as a value (unboxed), and the
    /// refusal reported to this limiter's observer. Queueing is reported to this limiter's
    /// observer too, and to `reporting` (a chain waiting here for its caller).
    package func admission(
        _ key: Key, cost: Int, options: WaitOptions, context: ResilienceContext?, reporting: EventChannel? = nil
    ) async -> ExecutionOutcome<Admitted> {
        let outcome = await waitingAdmission(key, cost: cost, options: options, context: context, reporting: reporting)
        if case .rejected(let error) = outcome, events.isObserved {
            events.emitRefusal(error, cost: cost, context: context)
        }
        return outcome
    }

    private func waitingAdmission(
        _ key: Key, cost: Int, options: WaitOptions, context: ResilienceContext?, reporting: EventChannel?
    ) async -> ExecutionOutcome<Admitted> {
        let hash = Table.hash(of: key)
        let engine: InMemoryRateLimiter<Algorithm, C>
        do throws(BulwarkError) {
            let immediate = try tryAdmit(key, cost: cost, at: clock.nowNanoseconds)
            if immediate.decision.isAllowed { return .success(Admitted(immediate)) }
            engine = try shard(for: hash).withLock { shard throws(BulwarkError) in try promote(key, hash: hash, in: &shard) }
        } catch {
            return .rejected(error)
        }
        let outcome = await engine.admission(cost: cost, options: options, context: context, reporting: events, alsoReporting: reporting)
        leave(key, hash: hash, engine)
        return outcome
    }

    /// Gives back `amount` of a cost admitted to `key` at `admittedAt`. A partition already
    /// dropped was fresh, where a refund changes nothing.
    @inlinable
    package func refund(_ key: Key, amount: Int, admittedAt: Int64, at now: Int64) {
        update(key, at: now, createIfAbsent: false) { $0.refund(amount, admittedAt: admittedAt, at: now) } engine: {
            $0.refund(amount, admittedAt: admittedAt, at: now)
        }
    }

    /// Takes `amount` from `key` at `now` even if it is not available (debt, capped at one limit).
    @inlinable
    package func charge(_ key: Key, amount: Int, at now: Int64) {
        update(key, at: now, createIfAbsent: true) { $0.charge(amount, at: now) } engine: { $0.charge(amount, at: now) }
    }

    /// The figures of `key` at `now` without taking anything.
    @inlinable
    package func snapshot(_ key: Key, at now: Int64) throws(BulwarkError) -> RateLimitDecision {
        try read(key, at: now) { $0.snapshot(at: now, retryAfterNanoseconds: 0) } engine: { $0.snapshot(at: now) }
    }

    /// Nanoseconds from `now` until `cost` would be admitted to `key`, counting its waiters.
    @inlinable
    package func nanosecondsUntilAdmitted(_ key: Key, cost: Int, at now: Int64) throws(BulwarkError) -> Int64 {
        try read(key, at: now) { $0.nanosecondsUntilAvailable(cost, at: now) } engine: {
            $0.nanosecondsUntilAdmitted(cost: cost, at: now)
        }
    }

    /// The largest cost `key`'s group admits.
    @inlinable
    package func limit(for key: Key) throws(BulwarkError) -> Int {
        try templates[template(for: key)].limit
    }

    /// Adds a partition, first sweeping a few slots of its shard and, when the limiter holds its
    /// maximum, dropping one of that shard's partitions.
    @inlinable
    func insert(_ key: Key, hash: Int, state: Algorithm.State, template: Int, at now: Int64, into shard: inout Shard) {
        var removed = shard.sweep(4, templates: templates, at: now)
        if partitions.load(ordering: .relaxed) - removed >= maximumPartitions {
            removed += shard.sweep(16, templates: templates, at: now)
            if partitions.load(ordering: .relaxed) - removed >= maximumPartitions {
                switch shard.evictOne(samples: 5, templates: templates, at: now) {
                case .none: break
                case .fresh: removed += 1
                case .forced:
                    removed += 1
                    forcedEvictions.add(1, ordering: .relaxed)
                }
            }
        }
        shard.table.insert(key, hash: hash, value: Shard.Entry(state: state, group: UInt32(template)))
        partitions.add(1 - removed, ordering: .relaxed)
    }

    /// The engine holding `key`'s state while it has waiters, created if needed, with one more user.
    private func promote(_ key: Key, hash: Int, in shard: inout Shard) throws(BulwarkError) -> InMemoryRateLimiter<Algorithm, C> {
        if shard.busy[key] != nil {
            shard.busy[key]!.users += 1
            return shard.busy[key]!.engine
        }
        if shard.table.find(key, hash: hash) == nil {
            let template = try template(for: key)
            let now = clock.nowNanoseconds
            insert(key, hash: hash, state: templates[template].freshState(at: now), template: template, at: now, into: &shard)
        }
        let entry = shard.table.value(at: shard.table.find(key, hash: hash)!)
        var algorithm = templates[entry.pointee.template]
        algorithm.state = entry.pointee.state
        let engine = try InMemoryRateLimiter(algorithm: algorithm, queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock)
        entry.pointee.group |= Shard.Entry.busyFlag
        shard.busy[key] = Shard.Busy(engine: engine, users: 1)
        return engine
    }

    /// One user of `key`'s engine is done; the last one moves the state back into the partition.
    private func leave(_ key: Key, hash: Int, _ engine: InMemoryRateLimiter<Algorithm, C>) {
        shard(for: hash).withLock { shard in
            guard var busy = shard.busy[key], busy.engine === engine else { return }
            busy.users -= 1
            guard busy.users == 0, let algorithm = engine.detachIfIdle() else {
                shard.busy[key] = busy
                return
            }
            shard.busy[key] = nil
            if let slot = shard.table.find(key, hash: hash) {
                shard.table.value(at: slot).pointee.state = algorithm.state
                shard.table.value(at: slot).pointee.group &= ~Shard.Entry.busyFlag
            }
        }
    }

    /// Applies `change` to `key`'s state (or `engine` to its engine while it has waiters).
    @inlinable
    func update(
        _ key: Key, at now: Int64, createIfAbsent: Bool,
        _ change: (inout Algorithm) -> Void,
        engine: (InMemoryRateLimiter<Algorithm, C>) -> Void
    ) {
        let hash = Table.hash(of: key)
        shard(for: hash).withLock { shard in
            if let slot = shard.table.find(key, hash: hash) {
                let entry = shard.table.value(at: slot)
                if entry.pointee.isBusy { return engine(shard.busy[key]!.engine) }
                var algorithm = templates[entry.pointee.template]
                swap(&algorithm.state, &entry.pointee.state)
                change(&algorithm)
                swap(&algorithm.state, &entry.pointee.state)
                return
            }
            guard createIfAbsent, let template = try? template(for: key) else { return }
            var algorithm = templates[template]
            algorithm.state = algorithm.freshState(at: now)
            change(&algorithm)
            if !algorithm.isFresh(at: now) {
                insert(key, hash: hash, state: algorithm.state, template: template, at: now, into: &shard)
            }
        }
    }

    /// Reads `key`'s state (a fresh one if it has no partition) without changing it.
    @inlinable
    func read<Value>(
        _ key: Key, at now: Int64,
        _ body: (Algorithm) -> Value,
        engine: (InMemoryRateLimiter<Algorithm, C>) -> Value
    ) throws(BulwarkError) -> Value {
        let hash = Table.hash(of: key)
        return try shard(for: hash).withLock { shard throws(BulwarkError) in
            if let slot = shard.table.find(key, hash: hash) {
                let entry = shard.table.value(at: slot).pointee
                if entry.isBusy { return engine(shard.busy[key]!.engine) }
                var algorithm = templates[entry.template]
                algorithm.state = entry.state
                return body(algorithm)
            }
            var algorithm = templates[try template(for: key)]
            algorithm.state = algorithm.freshState(at: now)
            return body(algorithm)
        }
    }
}
