extension LuaSource {
    /// The segmented window (`Tests/Vectors/README.md`, `segmented-window.json`) as a script module.
    ///
    /// **Configuration** (`ARGV` from the module's first index): `limit L`, `window W` (nanoseconds),
    /// `segments N` (`W` a whole multiple of `N`; segments of `S = W/N`), `epoch E` (nanoseconds, the
    /// decimal text of any `Int64`, or `E mod S`: only `E mod S` matters; segments start at `E + j×S`
    /// nanoseconds of the clock, which for Redis' `TIME` is the Unix epoch). The script reads `E` as
    /// `hi × 10^9 + lo` from its text, so it is exact whatever its size.
    ///
    /// **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
    /// step's time `T`, nanoseconds after `o`) and `e`: the segments of the window with a positive
    /// count, oldest first, as `start:count` joined by `,`, each start in nanoseconds after `o` (in
    /// place of the index `j`). At most `N` entries (`N ≤ 4096`): every call reads, parses and (when
    /// it changes anything) rewrites the field, O(N) time, about 20 bytes per segment.
    ///
    /// **Exactness**: counts and totals are whole, at most `2L + L`; segment starts come from
    /// `(bw.sec × 10^9 − E) mod S`, by doubling and adding modulo `S` (every value below `2S`), and
    /// times stay within `W` plus the key's age (at most `W` plus a second and the lag) of `bw.sec`,
    /// so the script is exact when
    ///
    ///     L ≤ 2^51  and  W ≤ 2^51
    ///
    /// **Lifetime**: a fresh key is an empty window. The key expires when its newest segment with a
    /// count leaves the window (`start + W`, rounded up to milliseconds), or is deleted when every
    /// segment is empty (kept until its `T` when that is ahead of `bw.now`; with a driven clock,
    /// which may go back, always kept).
    static let segmentedWindow = #"""
    local segmentedWindow = {}

    function segmentedWindow.config(argv, i)
      local cfg = {L = tonumber(argv[i]), W = tonumber(argv[i + 1]), N = tonumber(argv[i + 2]), eh = 0, el = 0}
      cfg.S = bw.fdiv(cfg.W, cfg.N)
      -- E = eh × 10^9 + el exactly, from its decimal text (an Int64 need not fit a double).
      local sign, digits = string.match(argv[i + 3] or '', '^([-+]?)(%d+)$')
      if digits then
        if #digits > 9 then
          cfg.eh = tonumber(string.sub(digits, 1, -10))
          cfg.el = tonumber(string.sub(digits, -9))
        else
          cfg.el = tonumber(digits)
        end
        if sign == '-' then cfg.eh, cfg.el = -cfg.eh, -cfg.el end
      end
      return cfg
    end

    -- x mod m (floor modulo), exact for |x| < 2^53, m > 0.
    function segmentedWindow.mod(x, m)
      return x - bw.fdiv(x, m) * m
    end

    -- (bw.sec × 10^9 − E) mod G for a grid of length G ≤ 2^52: a = (bw.sec − eh) mod G times
    -- b = 10^9 mod G (directly when a·b < 2^53, else by doubling and adding over the bits of b, every
    -- value < 2G), reduced mod G, minus el, reduced mod G.
    function segmentedWindow.phase(cfg, G)
      local mod = segmentedWindow.mod
      local a, b = mod(bw.sec - cfg.eh, G), mod(1000000000, G)
      local r = a * b
      if r < 9007199254740992 then
        r = mod(r, G)
      else
        r = 0
        local bit = 1
        while bit * 2 <= b do bit = bit * 2 end
        while bit >= 1 do
          r = r + r
          if r >= G then r = r - G end
          if b >= bit then
            b = b - bit
            r = r + a
            if r >= G then r = r - G end
          end
          bit = bit / 2
        end
      end
      return mod(r - cfg.el, G)
    end

    -- st: last, t (starts of the segments with a count, oldest first), c (their counts); after
    -- advance also at (T), j (the start of T's segment), s (the window's total).
    function segmentedWindow.load(keys, cfg)
      cfg.ph = segmentedWindow.phase(cfg, cfg.S)
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

    -- Forgets the segments that have left the window (start ≤ j − W) and the empty ones.
    function segmentedWindow.advance(cfg, st, T)
      local j = T - segmentedWindow.mod(cfg.ph + T, cfg.S)
      local t, c = st.t, st.c
      local cut, nt, nc, k, s = j - cfg.W, {}, {}, 0, 0
      for i = 1, #t do
        if t[i] > cut and c[i] > 0 then
          k = k + 1
          nt[k] = t[i]
          nc[k] = c[i]
          s = s + c[i]
        end
      end
      st.t, st.c, st.s, st.j, st.at = nt, nc, s, j, T
    end

    -- Counts `cost` in the segment of T.
    function segmentedWindow.add(st, cost)
      local n = #st.t
      if n > 0 and st.t[n] == st.j then
        st.c[n] = st.c[n] + cost
      else
        st.t[n + 1] = st.j
        st.c[n + 1] = cost
      end
      st.s = st.s + cost
    end

    function segmentedWindow.acquire(cfg, st, cost)
      local L = cfg.L
      if cost > L then return false, bw.FOREVER end
      if st.s + cost <= L then
        segmentedWindow.add(st, cost)
        return true, 0
      end
      -- The oldest segments holding `need` leave at their start + W.
      local need, sum = st.s + cost - L, 0
      for i = 1, #st.t do
        sum = sum + st.c[i]
        if sum >= need then return false, st.t[i] + cfg.W - st.at end
      end
      return false, bw.FOREVER  -- unreachable: a cost within the limit fits once the window is empty
    end

    function segmentedWindow.figures(cfg, st)
      local remaining = cfg.L - st.s
      if remaining < 0 then remaining = 0 end
      for i = #st.t, 1, -1 do
        if st.c[i] > 0 then return remaining, st.t[i] + cfg.W - st.at end
      end
      return remaining, 0
    end

    function segmentedWindow.refund(cfg, st, cost, admittedAt)
      if admittedAt <= st.j - cfg.W or admittedAt >= st.j + cfg.S then return end
      local start = admittedAt - segmentedWindow.mod(cfg.ph + admittedAt, cfg.S)
      for i = #st.t, 1, -1 do
        if st.t[i] == start then
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
        if st.t[i] < start then return end
      end
    end

    function segmentedWindow.charge(cfg, st, cost)
      local take = 2 * cfg.L - st.s
      if cost < take then take = cost end
      if take > 0 then segmentedWindow.add(st, take) end
    end

    function segmentedWindow.save(keys, cfg, st)
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
