-- The segmented window (`Tests/Vectors/README.md`, `segmented-window.json`) as a script module:
-- the sliding-window log (``slidingWindowLog``, whose source a script puts first) logging each
-- admission at its segment's start, so that a segment leaves the window whole.
--
-- **Configuration** (`ARGV` from the module's first index): `limit L`, `window W` (nanoseconds),
-- `segments N` (`W` a whole multiple of `N`; segments of `S = W/N`), `epoch E` (nanoseconds, the
-- decimal text of any `Int64`, or `E mod S`: only `E mod S` matters; segments start at `E + j×S`
-- nanoseconds of the clock, which for Redis' `TIME` is the Unix epoch). The script reads `E` as
-- `hi × 10^9 + lo` from its text, so it is exact whatever its size.
--
-- **Key**: one hash, `KEYS[1]`, fields `o` (the second `bw.sec` it was written at), `l` (the
-- step's time `T`, nanoseconds after `o`) and `e`: the segments of the window with a positive
-- count, oldest first, as `start:count` joined by `,`, each start in nanoseconds after `o` (in
-- place of the index `j`). At most `N` entries (`N ≤ 4096`): every call reads, parses and (when
-- it changes anything) rewrites the field, O(N) time, about 20 bytes per segment.
--
-- **Exactness**: counts and totals are whole, at most `2L + L`; segment starts come from
-- `(bw.sec × 10^9 − E) mod S`, by doubling and adding modulo `S` (every value below `2S`), and
-- times stay within `W` plus the key's age (at most `W` plus a second and the lag) of `bw.sec`,
-- so the script is exact when
--
--     L ≤ 2^51  and  W ≤ 2^51
--
-- **Lifetime**: a fresh key is an empty window. The key expires when its newest segment with a
-- count leaves the window (`start + W`, rounded up to milliseconds), or is deleted when every
-- segment is empty (kept until its `T` when that is ahead of `bw.now`; with a driven clock,
-- which may go back, always kept).
local segmentedWindow = setmetatable({}, {__index = slidingWindowLog})

function segmentedWindow.config(argv, i)
  local cfg = {L = tonumber(argv[i]), W = tonumber(argv[i + 1]), N = tonumber(argv[i + 2])}
  cfg.S = bw.fdiv(cfg.W, cfg.N)
  cfg.eh, cfg.el = bw.epoch(argv[i + 3])
  return cfg
end
