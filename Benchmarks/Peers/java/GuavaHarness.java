// Peer harness: Guava RateLimiter.tryAcquire() on the always-permit path.
//
// Prints exactly one line on stdout:  guava-ratelimiter-tryacquire\t<median ns/op>
// Per-round detail and a checksum go to stderr.
//
// Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
import com.google.common.util.concurrent.RateLimiter;

import java.util.Arrays;
import java.util.Locale;

public final class GuavaHarness {
    private static double envDouble(String name, double def) {
        String v = System.getenv(name);
        if (v == null) return def;
        try {
            double d = Double.parseDouble(v);
            return d > 0 ? d : def;
        } catch (NumberFormatException e) {
            return def;
        }
    }

    /** Calls tryAcquire() n times; returns the number of permitted calls. */
    private static long run(RateLimiter limiter, long n) {
        long permitted = 0;
        for (long i = 0; i < n; i++) {
            if (limiter.tryAcquire()) permitted++;
        }
        return permitted;
    }

    public static void main(String[] args) {
        int rounds = (int) envDouble("PEERS_ROUNDS", 5);
        double target = envDouble("PEERS_ROUND_SECONDS", 1.0);

        // 1e12 permits/second (SmoothBursty, 1 s of burst): every call is permitted,
        // and the limiter still resyncs and reserves on each call.
        RateLimiter limiter = RateLimiter.create(1e12);
        long checksum = 0;

        // JIT warm-up: at least ~2 s of calls in batches, so C2 compiles run()
        // as a normal (non-OSR) method before anything is timed.
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < warmEnd) checksum += run(limiter, 100_000);

        // Calibrate: grow n until one batch takes >= 100 ms.
        long n = 1L << 16;
        long elapsed;
        while (true) {
            long t0 = System.nanoTime();
            checksum += run(limiter, n);
            elapsed = System.nanoTime() - t0;
            if (elapsed >= 100_000_000L) break;
            n *= 2;
        }
        n = Math.max(1L, (long) (n * target * 1e9 / elapsed));

        double[] perOp = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            long p = run(limiter, n);
            long d = System.nanoTime() - t0;
            checksum += p;
            if (p != n) {
                System.err.printf("guava harness: only %d of %d calls were permitted; limiter not on the always-permit path%n", p, n);
                System.exit(1);
            }
            perOp[r] = (double) d / n;
            System.err.printf(Locale.ROOT, "guava-ratelimiter-tryacquire round %d: %d ops, %.1f ns/op%n", r + 1, n, perOp[r]);
        }
        double[] sorted = perOp.clone();
        Arrays.sort(sorted);
        int m = sorted.length / 2;
        double median = sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        System.err.printf(Locale.ROOT, "guava-ratelimiter-tryacquire best %.1f ns/op, median %.1f ns/op, checksum %d%n", sorted[0], median, checksum);
        System.out.printf(Locale.ROOT, "guava-ratelimiter-tryacquire\t%.1f%n", median);
    }
}
