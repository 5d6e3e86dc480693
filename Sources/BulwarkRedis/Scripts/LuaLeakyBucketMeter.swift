extension LuaSource {
    /// The leaky bucket as a meter (`Tests/Vectors/README.md`, `leaky-bucket-meter.json`) as a script
    /// module.
    ///
    /// **Configuration** (`ARGV` from the module's first index): `capacity C`, `drainAmount R`,
    /// `drainPeriod P` (nanoseconds), `initialLevel` (send `0` when the configuration has none).
    ///
    /// **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
    /// step's time `T`, nanoseconds after `o`) and `v` (the level in units of `1/P'`).
    ///
    /// **Fixed point**: with `g = gcd(R, P)`, `R' = R/g`, `P' = P/g`, the level `λ` is kept as the
    /// integer `v = λ × P'` (draining `Δt` ns removes `Δt × R'` units exactly), so
    /// `0 ≤ v ≤ 2×C×P'`. Every intermediate value stays within `2 × C × P'` in magnitude (the drain
    /// is clamped before it multiplies; the acquire test is `v ≤ (C − c)×P'`; refunds and charges
    /// compare the cost with the room before multiplying), and every duration within
    /// `2 × C × P' / R'` ns, so the script is exact when
    ///
    ///     C × P' ≤ 2^51        (P' = P / gcd(R, P))
    ///
    /// which keeps values and durations within 2^52, leaving room for the times they are added to
    /// (`T` and the lag, nanoseconds from `bw.sec`, well below 2^52 ≈ 52 days). A stored time older
    /// than that loses precision, harmlessly: it only ever means an empty bucket.
    ///
    /// **Lifetime**: with `initialLevel = 0` an absent key is an empty bucket, so the key expires
    /// when the bucket has drained (`T + ceil(v/R')`, rounded up to milliseconds; deleted at once
    /// when already empty at `T = bw.now`; with a driven clock, which may go back, kept). With
    /// `initialLevel > 0` an empty bucket is *not* what a fresh key starts with, so the key is
    /// never deleted nor given an expiry (`PERSIST`): such keys stay in Redis until deleted by
    /// hand, one per limited identity; expiring them would hand a returning client `initialLevel`
    /// instead of an empty bucket.
    static let leakyBucketMeter = #"""
    local leakyBucketMeter = {}

    function leakyBucketMeter.config(argv, i)
      local C, R, P = tonumber(argv[i]), tonumber(argv[i + 1]), tonumber(argv[i + 2])
      local initial = tonumber(argv[i + 3])
      local g = bw.gcd(R, P)
      local cfg = {C = C, R = R / g, P = P / g}
      cfg.cap = C * cfg.P               -- C, in units of 1/P'
      cfg.top = 2 * cfg.cap             -- the most the level records (charges)
      cfg.fresh = initial * cfg.P       -- what a fresh bucket holds
      cfg.keep = initial > 0            -- empty is not fresh: the key never expires
      return cfg
    end

    function leakyBucketMeter.load(keys, cfg)
      local v = redis.call('HMGET', keys[1], 'o', 'l', 'v')
      if not v[1] or not v[2] or not v[3] then return {v = cfg.fresh} end
      local o = tonumber(v[1])
      local level = tonumber(v[3])
      -- Keep the bounds even if the key was written under another configuration.
      if level > cfg.top then level = cfg.top elseif level < 0 then level = 0 end
      return {last = bw.rel(o, tonumber(v[2])), v = level}
    end

    function leakyBucketMeter.advance(cfg, st, T)
      if st.last ~= nil then
        local dt = T - st.last
        if dt > 0 and st.v > 0 then
          if dt >= bw.cdiv(st.v, cfg.R) then st.v = 0 else st.v = st.v - dt * cfg.R end
        end
      end
      st.last = T
    end

    function leakyBucketMeter.acquire(cfg, st, cost)
      local room = (cfg.C - cost) * cfg.P   -- allowed iff v + cost×P' ≤ C×P'
      if st.v <= room then
        st.v = st.v + cost * cfg.P
        return true, 0
      end
      return false, bw.cdiv(st.v - room, cfg.R)
    end

    function leakyBucketMeter.figures(cfg, st)
      local remaining = bw.fdiv(cfg.cap - st.v, cfg.P)
      if remaining < 0 then remaining = 0 end
      return remaining, bw.cdiv(st.v, cfg.R)
    end

    function leakyBucketMeter.refund(cfg, st, cost, admittedAt)
      if st.v <= 0 then return end
      if cost >= bw.cdiv(st.v, cfg.P) then st.v = 0 else st.v = st.v - cost * cfg.P end
    end

    function leakyBucketMeter.charge(cfg, st, cost)
      local room = cfg.top - st.v           -- up to 2C; the excess is forgiven
      if room <= 0 then return end
      if cost >= bw.cdiv(room, cfg.P) then st.v = cfg.top else st.v = st.v + cost * cfg.P end
    end

    function leakyBucketMeter.save(keys, cfg, st)
      if cfg.keep then
        redis.call('HSET', keys[1], 'o', bw.sec, 'l', st.last, 'v', st.v)
        redis.call('PERSIST', keys[1])
        return
      end
      local ns = st.last + bw.cdiv(st.v, cfg.R) - bw.now
      if ns > 0 or bw.fake then
        redis.call('HSET', keys[1], 'o', bw.sec, 'l', st.last, 'v', st.v)
        -- A driven clock may go back: the key keeps `last` (bw.expire persists it).
        if ns <= 0 then ns = 1 end
      end
      bw.expire(keys[1], ns)
    end
    """#
}
