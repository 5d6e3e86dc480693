// Peer harness: Resilience4j's RateLimiter on its always-permit path and its CircuitBreaker on
// the closed success path, the breaker recording every outcome in its count window.
//
// Prints one line per measurement on stdout:  <label>\t<median ns/op>
//   resilience4j-ratelimiter-acquirepermission
//   resilience4j-circuitbreaker-executesupplier
// Per-round detail and a checksum go to stderr. Exits 1 if any timed call is refused, if the
// breaker leaves the closed state, or if its window does not hold the calls it was given.
//
// Env: PEERS_ROUNDS (default 5), PEERS_ROUND_SECONDS (default 1.0).
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

public final class Resilience4jHarness {
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

    /** One batch of n calls; returns how many were permitted (and, for the breaker, succeeded). */
    private interface Batch {
        long run(long n);
    }

    /** Calls acquirePermission() n times; returns the number of permitted calls. */
    private static long runLimiter(RateLimiter limiter, long n) {
        long permitted = 0;
        for (long i = 0; i < n; i++) {
            if (limiter.acquirePermission()) permitted++;
        }
        return permitted;
    }

    /** The guarded call: trivial, and it succeeds (a cached Integer, so nothing is allocated). */
    private static final Supplier<Integer> SUCCEED = () -> 1;

    /**
     * Calls executeSupplier(SUCCEED) n times; returns the sum of the results, n when every call
     * ran and succeeded (an open breaker would throw CallNotPermittedException).
     */
    private static long runBreaker(CircuitBreaker breaker, long n) {
        long succeeded = 0;
        for (long i = 0; i < n; i++) {
            succeeded += breaker.executeSupplier(SUCCEED);
        }
        return succeeded;
    }

    private static void fail(String message) {
        System.err.println("resilience4j harness: " + message);
        System.exit(1);
    }

    /**
     * Warms the JIT up, calibrates a batch to at least 100 ms, times the rounds, and prints the
     * median round as `label<TAB>ns/op`. `check` runs after each round (it fails the harness when
     * the peer left the path being measured).
     */
    private static void measure(String label, Batch batch, Runnable check) {
        int rounds = (int) envDouble("PEERS_ROUNDS", 5);
        double target = envDouble("PEERS_ROUND_SECONDS", 1.0);
        long checksum = 0;

        // JIT warm-up: at least ~2 s of calls in batches, so C2 compiles the batch method as a
        // normal (non-OSR) method before anything is timed.
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < warmEnd) checksum += batch.run(100_000);

        // Calibrate: grow n until one batch takes >= 100 ms.
        long n = 1L << 16;
        long elapsed;
        while (true) {
            long t0 = System.nanoTime();
            checksum += batch.run(n);
            elapsed = System.nanoTime() - t0;
            if (elapsed >= 100_000_000L) break;
            n *= 2;
        }
        n = Math.max(1L, (long) (n * target * 1e9 / elapsed));

        double[] perOp = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            long p = batch.run(n);
            long d = System.nanoTime() - t0;
            checksum += p;
            if (p != n) {
                fail(String.format(Locale.ROOT, "%s: only %d of %d calls were permitted; not on the always-permit path", label, p, n));
            }
            check.run();
            perOp[r] = (double) d / n;
            System.err.printf(Locale.ROOT, "%s round %d: %d ops, %.1f ns/op%n", label, r + 1, n, perOp[r]);
        }
        double[] sorted = perOp.clone();
        Arrays.sort(sorted);
        int m = sorted.length / 2;
        double median = sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        System.err.printf(Locale.ROOT, "%s best %.1f ns/op, median %.1f ns/op, checksum %d%n", label, sorted[0], median, checksum);
        System.out.printf(Locale.ROOT, "%s\t%.1f%n", label, median);
    }

    public static void main(String[] args) {
        // RateLimiter.of builds an AtomicRateLimiter. A cycle of 1 ns (the shortest the config
        // takes) with Integer.MAX_VALUE permits per cycle: every call is permitted, every call
        // lands in a new cycle and so does the refill arithmetic, and timeoutDuration 0 means a
        // refused call would return false at once instead of parking.
        RateLimiterConfig limiterConfig = RateLimiterConfig.custom()
            .limitForPeriod(Integer.MAX_VALUE)
            .limitRefreshPeriod(Duration.ofNanos(1))
            .timeoutDuration(Duration.ZERO)
            .build();
        RateLimiter limiter = RateLimiter.of("peer-harness", limiterConfig);
        System.err.printf(Locale.ROOT, "resilience4j-ratelimiter-acquirepermission: %s, limitForPeriod %d, limitRefreshPeriod %s, timeoutDuration %s%n",
            limiter.getClass().getSimpleName(), limiterConfig.getLimitForPeriod(),
            limiterConfig.getLimitRefreshPeriod(), limiterConfig.getTimeoutDuration());
        measure("resilience4j-ratelimiter-acquirepermission", n -> runLimiter(limiter, n), () -> { });

        // A closed breaker with Resilience4j's default judgement, spelled out: a COUNT_BASED
        // window of the last 100 calls, opening at a 50 % failure rate once 100 calls are in
        // (the same as Bulwark's defaults), the SYNCHRONIZED window (the default: a ReentrantLock
        // around a ring of 100 measurements). executeSupplier is Resilience4j's counterpart of
        // Bulwark's `execute`: it asks the state for permission, reads System.nanoTime() before
        // and after the call, tests the result against recordResultPredicate, records a success
        // in the window (and a slow one if over slowCallDurationThreshold, 60 s), checks both
        // rates, and runs the transition-on-result check.
        CircuitBreakerConfig breakerConfig = CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(100)
            .minimumNumberOfCalls(100)
            .failureRateThreshold(50)
            .build();
        CircuitBreaker breaker = CircuitBreaker.of("peer-harness", breakerConfig);
        System.err.printf(Locale.ROOT, "resilience4j-circuitbreaker-executesupplier: %s, %s window of %d, failure rate threshold %.0f%%, %s window%n",
            breaker.getClass().getSimpleName(), breakerConfig.getSlidingWindowType(),
            breakerConfig.getSlidingWindowSize(), breakerConfig.getFailureRateThreshold(),
            breakerConfig.getSlidingWindowSynchronizationStrategy());
        measure("resilience4j-circuitbreaker-executesupplier", n -> runBreaker(breaker, n), () -> {
            // Closed, and the window full of recorded successes: the outcomes were recorded.
            CircuitBreaker.Metrics metrics = breaker.getMetrics();
            if (breaker.getState() != CircuitBreaker.State.CLOSED
                || metrics.getNumberOfBufferedCalls() != 100
                || metrics.getNumberOfSuccessfulCalls() != 100) {
                fail(String.format(Locale.ROOT, "breaker %s with %d buffered calls (%d successful); not on the closed, recording path",
                    breaker.getState(), metrics.getNumberOfBufferedCalls(), metrics.getNumberOfSuccessfulCalls()));
            }
        });
    }
}
