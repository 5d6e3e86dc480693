extension LuaSource {
    /// The sliding-window log (`Tests/Vectors/README.md`, `sliding-window-log.json`) as a script
    /// module.
    ///
    /// **Configuration** (`ARGV` from the module's first index): `limit L`, `window W` (nanoseconds).
    ///
    /// **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
    /// step's time `T`, nanoseconds after `o`) and `e`, the log: its entries oldest first as
    /// `time:cost` joined by `,`, each time in nanoseconds after `o` (an entry older than `T − W` is
    /// never stored). One entry per distinct time, each with a cost of at least 1, so the log holds
    /// at most `2L` entries (`L` without debt). **Cost**: every call reads, parses and (when it
    /// changes anything) rewrites the whole field: O(entries) time, about 20 bytes per entry; a
    /// refund finds its entry by a scan from the newest.
    ///
    /// **Exactness**: costs and totals are whole, at most `2L + L`; times are within `W` plus the key's
    /// age (at most `W` plus a second and the lag) of `bw.sec`, so the script is exact when
    ///
    ///     L ≤ 2^51  and  W ≤ 2^51
    ///
    /// **Lifetime**: a fresh key is an empty log. The key expires when its newest entry leaves the
    /// window (`time + W`, rounded up to milliseconds), or is deleted when the log is empty (kept until
    /// its `T` when that is ahead of `bw.now`; with a driven clock, which may go back, always kept).
    static let slidingWindowLog = #"""
    local slidingWindowLog = {}

    function slidingWindowLog.config(argv, i)
      return {L = tonumber(argv[i]), W = tonumber(argv[i + 1])}
    end

    -- st: last, t (entry times, oldest first), c (their costs); after advance also at (T), s (sum).
    function slidingWindowLog.load(keys, cfg)
      local v = redis.call('HMGET', keys[1], 'o', 'l', 'e')
      local st = {t = {}, c = {}}
      if not v[1] or not v[2] then return st end
      local o = tonumber(v[1])
      st.last = bw.rel(o, tonumber(v[2]))
      local shift = (o - bw.sec) * 1000000000
      local n = 0
      for t, c in string.gmatch(v[3] or '', '(-?%d+):(%d+)') do
        n = n + 1
        st.t[n] = tonumber(t) + shift
        st.c[n] = tonumber(c)
      end
      return st
    end

    -- Drops the entries with time ≤ T − W and sums the others.
    function slidingWindowLog.advance(cfg, st, T)
      local t, c = st.t, st.c
      local cut, first, n = T - cfg.W, 1, #t
      while first <= n and t[first] <= cut do first = first + 1 end
      if first > 1 then
        local nt, nc, j = {}, {}, 0
        for i = first, n do
          j = j + 1
          nt[j] = t[i]
          nc[j] = c[i]
        end
        st.t, st.c = nt, nc
      end
      local s = 0
      for i = 1, #st.c do s = s + st.c[i] end
      st.s, st.at = s, T
    end

    -- Logs `cost` at T (adding to the entry of T if there is one).
    function slidingWindowLog.add(st, cost)
      local n = #st.t
      if n > 0 and st.t[n] == st.at then
        st.c[n] = st.c[n] + cost
      else
        st.t[n + 1] = st.at
        st.c[n + 1] = cost
      end
      st.s = st.s + cost
    end

    function slidingWindowLog.acquire(cfg, st, cost)
      local L = cfg.L
      if cost > L then return false, bw.FOREVER end
      if st.s + cost <= L then
        slidingWindowLog.add(st, cost)
        return true, 0
      end
      local need, sum = st.s + cost - L, 0
      for i = 1, #st.t do
        sum = sum + st.c[i]
        if sum >= need then return false, st.t[i] + cfg.W - st.at end
      end
      return false, bw.FOREVER  -- unreachable: a cost within the limit fits once the log is empty
    end

    function slidingWindowLog.figures(cfg, st)
      local remaining = cfg.L - st.s
      if remaining < 0 then remaining = 0 end
      local n = #st.t
      if n > 0 then return remaining, st.t[n] + cfg.W - st.at end
      return remaining, 0
    end

    function slidingWindowLog.refund(cfg, st, cost, admittedAt)
      local t = st.t
      for i = #t, 1, -1 do
        if t[i] == admittedAt then
          local back = st.c[i]
          if cost < back then back = cost end
          st.c[i] = st.c[i] - back
          st.s = st.s - back
          if st.c[i] == 0 then
            table.remove(st.t, i)
            table.remove(st.c, i)
          end
          return
        end
        if t[i] < admittedAt then return end
      end
    end

    function slidingWindowLog.charge(cfg, st, cost)
      local take = 2 * cfg.L - st.s
      if cost < take then take = cost end
      if take > 0 then slidingWindowLog.add(st, take) end
    end

    function slidingWindowLog.save(keys, cfg, st)
      local n = #st.t
      local fresh = st.last
      if n > 0 and st.t[n] + cfg.W > fresh then fresh = st.t[n] + cfg.W end
      local ns = fresh - bw.now
      if ns > 0 or bw.fake then
        local parts = {}
        for i = 1, n do parts[i] = string.format('%d:%d', st.t[i], st.c[i]) end
        redis.call('HSET', keys[1], 'o', string.format('%d', bw.sec), 'l', string.format('%d', st.last),
          'e', table.concat(parts, ','))
        -- A driven clock may go back: the key keeps `last` (bw.expire persists it).
        if ns <= 0 then ns = 1 end
      end
      bw.expire(keys[1], ns)
    end
    """#
}
