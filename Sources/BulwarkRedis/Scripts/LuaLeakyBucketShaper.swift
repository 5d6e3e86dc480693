extension LuaSource {
    /// The leaky bucket as a shaper (`Tests/Vectors/README.md`, `leaky-bucket-shaper.json`) as a
    /// script module.
    ///
    /// **Configuration** (`ARGV` from the module's first index): `rate R`, `period P` (nanoseconds),
    /// `maximumCost M`.
    ///
    /// **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
    /// step's time `T`, nanoseconds after `o`), `q` and `f` (the next release `θ`, below).
    ///
    /// **Fixed point**: with `g = gcd(R, P)`, `R' = R/g`, `P' = P/g`, the interval is `I = P'/R'`
    /// and `θ = q + f/R'` with `q` whole nanoseconds after `o` and `0 ≤ f < R'`; adding `c×I` adds
    /// `c×P'` to `f` and carries whole nanoseconds into `q`. A `θ` at or before `T − 1` behaves
    /// exactly like `θ = T` (free; the grid restarts at `T` either way), so the state is normalised
    /// to that and `T − 1 < θ ≤ T + 2×M×I` always holds. The largest intermediate is
    /// `f + c×P' < R' + 2×M×P'` and the longest duration `2×M×I ≤ 2×M×P'` ns, so the script is exact
    /// when
    ///
    ///     2 × M × P' + R' ≤ 2^52        (P' = P / gcd(R, P), R' = R / gcd(R, P))
    ///
    /// leaving room for the times `θ` is counted in (`T` and the lag, nanoseconds from `bw.sec`, well
    /// below 2^52 ≈ 52 days).
    ///
    /// **Lifetime**: a fresh key is `θ = T`; the state equals it from the moment `t` with
    /// `θ ≤ t − 1`, or `θ ≤ t` when `θ` is whole (`t = q` when `f = 0`, else `q + 2`), and never
    /// before its `T`. The key expires then (rounded up to milliseconds), or is deleted at once
    /// (with a driven clock, which may go back, always kept).
    static let leakyBucketShaper = #"""
    local leakyBucketShaper = {}

    function leakyBucketShaper.config(argv, i)
      local R, P, M = tonumber(argv[i]), tonumber(argv[i + 1]), tonumber(argv[i + 2])
      local g = bw.gcd(R, P)
      local cfg = {R = R / g, P = P / g, M = M}
      local top = 2 * M * cfg.P            -- 2·M·I, in units of 1/R'
      cfg.topq = bw.fdiv(top, cfg.R)
      cfg.topf = top - cfg.topq * cfg.R
      return cfg
    end

    function leakyBucketShaper.load(keys, cfg)
      local v = redis.call('HMGET', keys[1], 'o', 'l', 'q', 'f')
      if not v[1] or not v[2] or not v[3] or not v[4] then return {} end
      local o = tonumber(v[1])
      local f = tonumber(v[4])
      if f < 0 or f >= cfg.R then f = 0 end  -- written under another configuration
      return {last = bw.rel(o, tonumber(v[2])), q = bw.rel(o, tonumber(v[3])), f = f}
    end

    -- θ += units / R' (|units| ≤ 2·M·P').
    function leakyBucketShaper.add(cfg, st, units)
      local s = st.f + units
      local d = bw.fdiv(s, cfg.R)
      st.q = st.q + d
      st.f = s - d * cfg.R
    end

    function leakyBucketShaper.ceil(st)
      if st.f > 0 then return st.q + 1 end
      return st.q
    end

    function leakyBucketShaper.advance(cfg, st, T)
      -- θ ≤ T − 1 (or a fresh state) behaves as θ = T.
      if st.q == nil or st.q < T - 1 or (st.q == T - 1 and st.f == 0) then
        st.q, st.f = T, 0
      elseif st.q > T + cfg.topq or (st.q == T + cfg.topq and st.f > cfg.topf) then
        st.q, st.f = T + cfg.topq, cfg.topf  -- only under another configuration
      end
      st.last = T
    end

    function leakyBucketShaper.acquire(cfg, st, cost)
      local T = st.last
      local c = leakyBucketShaper.ceil(st)
      if c > T then return false, c - T end
      -- Free, and θ > T − 1 after advance: the release keeps the grid (T < θ + 1).
      leakyBucketShaper.add(cfg, st, cost * cfg.P)
      return true, 0
    end

    function leakyBucketShaper.figures(cfg, st)
      local T = st.last
      local c = leakyBucketShaper.ceil(st)
      if c <= T then return cfg.M, 0 end
      return 0, c - T
    end

    function leakyBucketShaper.refund(cfg, st, cost, admittedAt)
      local T = st.last
      if cost >= 2 * cfg.M then
        st.q, st.f = T, 0
        return
      end
      leakyBucketShaper.add(cfg, st, -cost * cfg.P)
      if st.q < T then st.q, st.f = T, 0 end
    end

    function leakyBucketShaper.charge(cfg, st, cost)
      local T = st.last
      if st.q < T then st.q, st.f = T, 0 end
      if cost >= 2 * cfg.M then
        st.q, st.f = T + cfg.topq, cfg.topf
        return
      end
      leakyBucketShaper.add(cfg, st, cost * cfg.P)
      if st.q > T + cfg.topq or (st.q == T + cfg.topq and st.f > cfg.topf) then
        st.q, st.f = T + cfg.topq, cfg.topf
      end
    end

    function leakyBucketShaper.save(keys, cfg, st)
      local fresh = st.q
      if st.f > 0 then fresh = st.q + 2 end
      if fresh < st.last then fresh = st.last end
      local ns = fresh - bw.now
      if ns > 0 or bw.fake then
        redis.call('HSET', keys[1], 'o', bw.sec, 'l', st.last, 'q', st.q, 'f', st.f)
        -- A driven clock may go back: the key keeps `last` (bw.expire persists it).
        if ns <= 0 then ns = 1 end
      end
      bw.expire(keys[1], ns)
    end
    """#
}
