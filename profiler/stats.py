"""Every statistic attnprof computes, in one place: pure functions on lists of floats.

No torch, no clock: the timing harness, the rounds engine, the report and ``compare`` import
these, and the tests check them on made-up numbers and fake clocks. (scipy is imported
lazily: ``scipy.special`` for the t quantile, ``scipy.stats`` by the two-sample test.)

**Samples of one measurement** (as ``torch.utils.benchmark``'s ``Measurement``): quantiles
interpolate linearly between order statistics (numpy's default "linear" method);
IQR = q(0.75) - q(0.25); CV = sample standard deviation / mean; a measurement is *noisy* when
IQR / median of images/s exceeds :data:`NOISY_IQR_RATIO` (10%).

**Throughput ratios from interleaved rounds** (:func:`round_ratios`, :func:`ratio_interval`).
Two workloads timed in the same rounds (each round runs a short block of steps of every
member, in a fresh order) give one ratio per round: member images/s over baseline images/s,
each the block's images over the block's time. Drift of the machine (another process, clock
changes, thermal state) moves both members of a round alike, so the per-round ratios stay
put where the ratio of two medians taken minutes apart does not (Kalibera & Jones,
"Rigorous Benchmarking in Reasonable Time", ISMM 2013: report a ratio with a confidence
interval from repeated, paired executions; asv's interleaved rounds and ``continuous``;
Laaber, Scheuner & Leitner, "Software microbenchmarking in the cloud. How bad is it really?",
EMSE 2019: randomized multiple interleaved trials on the same instance detect slowdowns of a
few percent where sequential runs do not).

The interval is the **Hodges-Lehmann estimate with the Wilcoxon signed-rank confidence
interval** on the per-round *log* ratios (Hollander, Wolfe & Chicken, *Nonparametric
Statistical Methods*, 3rd ed., §3.2-3.3; R's ``wilcox.test(conf.int = TRUE)``): the estimate
is the median of the Walsh averages (d_i + d_j) / 2, i <= j; the interval runs from the k-th
smallest to the k-th largest Walsh average, k from the signed-rank distribution (exact up
to :data:`EXACT_SIGNED_RANK_MAX` rounds, the normal approximation with continuity correction
above). It is distribution-free (it assumes only that the log ratios are symmetric about
their centre, which a ratio of two similar step times is), exact at small round counts,
deterministic (the same rounds always give the same interval, unlike a bootstrap), and
cheap enough to recompute after every round for the stopping rule. Back on the ratio scale
it is ``exp`` of the log-scale figures, so ``A/B`` and ``B/A`` get reciprocal intervals. With
fewer than 6 rounds no 95% interval exists (the smallest attainable p-value is 2/32).

**Two levels: rounds within processes** (:func:`two_level_interval`). Rounds of one process
share that process's state (memory layout, allocator, threads' placement, what the kernel
chose for it), so a process's ratio differs from the next process's by more than its rounds
say: the within-process interval above is too sure of itself across processes. As pyperf
(which times in 20 worker processes by default) and Kalibera & Jones (ISMM 2013: replicate at
the level where the variance is; build the interval on the top level) do, a group is timed in
several fresh processes and the interval is built at the top level, with the replicate as a
random effect. **Builds inside a process**: on the 2-core CPU of the README (MobileNetV2 vs
+ SE, batch 2, inference), fresh builds of the same models inside one process gave ratios
2-3.5% apart (SD), with rounds inside a build 0.3-2% apart: the memory layout a model is
built into moves its speed (as Mytkowicz et al., "Producing wrong data without doing anything
obviously wrong", ASPLOS 2009, and Curtsinger & Berger's STABILIZER, ASPLOS 2013, found for
code and heap layout). So each process builds its members afresh every few rounds, which
averages that layout effect inside the process for the price of a rebuild. It does not
replace processes: over 22 builds in 3 processes the processes stood a further 3-4% apart
beyond their builds (what a process fixes at its start, code placement and the like), so the
process stays the random effect; the between-build SD is kept as a diagnostic
(:func:`pooled_within_sd`). On the log scale, process ``p`` gives the
**Hodges-Lehmann estimate** ``m_p`` of its ``n_p`` per-round log ratios (the median of their
Walsh averages, as above): a single wild round (another process woke up) moves a mean by its
whole excess over ``n_p`` but the HL estimate hardly at all, and at normal noise the HL
estimate loses little, its asymptotic relative efficiency to the mean being 3/pi = 0.955
(Hodges & Lehmann, "Estimates of location based on rank tests", Ann. Math. Statist. 34,
1963). Its variance around the
true log ratio is ``tau^2 + v_p`` with ``v_p = (pi/3) sigma^2 / n_p``, the HL estimate's
asymptotic variance under normality (``tau``: the between-process SD; ``sigma``: the
within-process SD of one round, a robust pooled estimate: 1.4826 times the median absolute
deviation of every round from its own process's median, over the processes of two rounds or
more, so that outlier rounds do not inflate it as they do a sample variance). (The width of
each process's own Wilcoxon interval was tried as ``v_p`` and rejected: at the 6-12 rounds a
process gets, its end points are extreme Walsh averages, so on simulated normal rounds it
overstated the HL estimate's variance 1.2-2 times, and 2-6 times with 5% outlier rounds,
where the MAD-based figure was within 0.8-1.0 times.) The headline log ratio is the
unweighted mean of the ``m_p`` over the ``P`` processes (each process one draw of the random
effect, as in Kalibera & Jones's two-level design), and its 95% interval is a t-interval:

- ``P >= MIN_PROCESSES_FOR_DATA`` (10, the planner's most processes per group): the
  variance of the ``m_p`` estimated from the data alone (``s_m^2 / P``, ``P - 1`` degrees of
  freedom): ``variance_source = "processes"``;
- fewer: the data's ``s_m^2`` (``P - 1`` df, none for one process) is pooled with a prior
  value ``tau0^2 + mean(v_p)`` carrying ``df0`` degrees of freedom (the moderated
  variance of Smyth, "Linear models and empirical Bayes methods for assessing differential
  expression", 2004), and the t quantile takes ``P - 1 + df0`` df. ``tau0`` comes from a
  calibration across fresh processes (``attnprof calibrate --processes N``: ``N - 1`` df,
  source ``calibration``), from the other groups of the same run (each gives ``P - 1`` df:
  :func:`pooled_between_prior`, source ``pooled``), or from the default
  :data:`DEFAULT_BETWEEN_SD` (3% between-process SD of a log ratio, :data:`DEFAULT_BETWEEN_DF`
  df: the README's 2-core CPU gave 3.3-4% between processes for MobileNetV2 at batch 2 over
  15 processes, and 2.7% pooled over the groups of a whole reproduce run), source
  ``default``. Below 10 processes the data's few degrees of freedom cost more than the
  prior's assumption (one between-process variance for the run's groups, or the machine's)
  risks: at 4 processes alone the t quantile is 3.18 against 2.0-2.1 with a prior pooled over
  a run (30-60 df), which made ResNet-50's intervals at 4 processes (±5 points on a half-speed
  2-core VM, 3 December 2026) wider than at 3 processes with the prior; the group's own
  spread still counts, with its ``P - 1`` df, and widens the interval when it is larger.

The data's own estimate of ``tau`` (``sqrt(max(0, s_m^2 - mean(v_p)))``, from the same HL
estimates and ``v_p``: :func:`between_estimate`, which :func:`pooled_between_prior` pools
across groups) and the robust pooled within-process SD are kept beside the interval, and the
Wilcoxon interval over all rounds stays as a diagnostic (``within``). The t quantile is
scipy's (``scipy.special.stdtrit``, imported lazily).

**Stopping rule** (:func:`half_width`): rounds go on until every ratio's interval half-width
(high - low) / 2 is below a target (2 percentage points by default, in the rounds engine).

**Two-sample test** for ``attnprof compare`` (:func:`two_sample_test`), as asv's
``is_different``: the two-sided Mann-Whitney U test (scipy.stats.mannwhitneyu) on the raw
samples when there are enough of them for the test to reach the significance level at all
(2 / C(n + m, min(n, m)) < alpha); otherwise the pessimistic fallback: different only when the
distribution-free confidence intervals of the two medians (:func:`median_interval`, 99%) do
not overlap.

**Unpaired ratios** (:func:`unpaired_ratio_interval`, for result files written before paired
timing): the ratio of the two medians, with the interval spanned by the two medians'
order-statistic intervals at sqrt(95%) each (so that both hold with 95%); it cannot see drift
between the two measurements, and says so in its ``method``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "COMPARE_ALPHA",
    "CONFIDENCE",
    "DEFAULT_BETWEEN_DF",
    "DEFAULT_BETWEEN_PRIOR",
    "DEFAULT_BETWEEN_SD",
    "EXACT_SIGNED_RANK_MAX",
    "MIN_PROCESSES_FOR_DATA",
    "MIN_ROUNDS_FOR_INTERVAL",
    "NOISY_IQR_RATIO",
    "PAIRED_METHOD",
    "PRIOR_SOURCES",
    "TWO_LEVEL_METHOD",
    "UNPAIRED_METHOD",
    "VARIANCE_SOURCES",
    "BetweenPrior",
    "ProcessEstimate",
    "RatioInterval",
    "Summary",
    "TestOutcome",
    "TwoLevelInterval",
    "between_estimate",
    "block_rate",
    "cv",
    "estimate_variance",
    "half_width",
    "hodges_lehmann",
    "intervals_overlap",
    "iqr",
    "is_settled",
    "median",
    "median_interval",
    "min_detectable_change",
    "normal_signed_rank_rank",
    "pooled_between_prior",
    "pooled_within_sd",
    "quantile",
    "quartiles",
    "ratio_interval",
    "round_ratios",
    "round_ratios_by_process",
    "signed_rank_rank",
    "steps_for_budget",
    "summarize",
    "two_level_interval",
    "two_sample_test",
    "unpaired_ratio_interval",
]

NOISY_IQR_RATIO = 0.10
CONFIDENCE = 0.95
# asv's default p-value threshold for "significantly different" in asv compare/continuous:
# strict, because a benchmark run compares many cases and step samples are not independent.
COMPARE_ALPHA = 0.002
EXACT_SIGNED_RANK_MAX = 50
MIN_ROUNDS_FOR_INTERVAL = 6
PAIRED_METHOD = ("hodges-lehmann estimate, wilcoxon signed-rank interval of per-round log "
                 "throughput ratios (interleaved rounds)")
TWO_LEVEL_METHOD = ("mean of per-process hodges-lehmann log throughput ratios, t-interval "
                    "with the process as a random effect (interleaved rounds in fresh "
                    "processes, members built afresh every few rounds)")
DEFAULT_BETWEEN_SD = 0.03
DEFAULT_BETWEEN_DF = 4.0
MIN_PROCESSES_FOR_DATA = 10
# the same names as profiler.results.group.VARIANCE_SOURCES (a result file's interval_method)
VARIANCE_SOURCES: tuple[str, ...] = ("processes", "calibration", "pooled", "default")
# the sources a prior can have (a BetweenPrior's)
PRIOR_SOURCES: tuple[str, ...] = ("calibration", "pooled", "default")
UNPAIRED_METHOD = ("ratio of medians, interval from both medians' order-statistic intervals "
                   "(separate measurements: drift between them is not seen)")


def _checked(values: Sequence[float]) -> list[float]:
    if not values:
        raise ValueError("statistics of an empty sample")
    return sorted(float(v) for v in values)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1), linear interpolation between order statistics."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    ordered = _checked(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return quantile(values, 0.5)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3)."""
    return quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75)


def iqr(values: Sequence[float]) -> float:
    """Interquartile range: q(0.75) - q(0.25)."""
    return quantile(values, 0.75) - quantile(values, 0.25)


def cv(values: Sequence[float]) -> float:
    """Coefficient of variation (sample stdev / mean); 0 for fewer than two values."""
    ordered = _checked(values)
    if len(ordered) < 2:
        return 0.0
    mean = statistics.fmean(ordered)
    return statistics.stdev(ordered) / mean if mean else 0.0


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when the closed intervals ``a`` = (low, high) and ``b`` share a point."""
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class Summary:
    """What the raw per-step times of one measurement say, for ``batch`` images per step."""

    images_per_sec: float
    images_per_sec_iqr: float
    images_per_sec_cv: float
    step_ms_median: float
    step_ms_iqr: float
    noisy: bool


def summarize(step_seconds: Sequence[float], batch: int) -> Summary:
    """Median/IQR/CV of images/s (``batch / t`` per sample) and of the step time in ms."""
    if any(t <= 0 for t in step_seconds):
        raise ValueError("step times must be positive")
    rates = [batch / t for t in step_seconds]
    rate_median, rate_iqr = median(rates), iqr(rates)
    steps_ms = [t * 1e3 for t in step_seconds]
    return Summary(
        images_per_sec=rate_median,
        images_per_sec_iqr=rate_iqr,
        images_per_sec_cv=cv(rates),
        step_ms_median=median(steps_ms),
        step_ms_iqr=iqr(steps_ms),
        noisy=rate_iqr / rate_median > NOISY_IQR_RATIO,
    )


def is_settled(times: Sequence[float], window: int, tolerance: float) -> bool:
    """True when the step times have stopped drifting.

    Compares the median of the last ``window`` times with the median of the ``window`` before
    them; settled when they differ by at most ``tolerance`` (relative). A slow first phase
    (lazy initialisation, cuDNN autotuning, compilation) keeps the two medians apart, so
    warm-up goes on past it; flat times settle after ``2 * window`` steps.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if len(times) < 2 * window:
        return False
    previous = median(times[-2 * window:-window])
    last = median(times[-window:])
    return abs(last - previous) <= tolerance * previous


def steps_for_budget(min_time: float, step_estimate: float, minimum: int) -> int:
    """Steps that fill ``min_time`` seconds at ``step_estimate`` seconds each (>= ``minimum``)."""
    if step_estimate <= 0:
        return max(1, minimum)
    return max(1, minimum, math.ceil(min_time / step_estimate))


# --- paired ratios ---------------------------------------------------------------------------


def block_rate(times: Sequence[float], batch: int) -> float:
    """Images/s of one block of steps: all its images over all its time."""
    total = math.fsum(times)
    if not times or total <= 0:
        raise ValueError("a block needs at least one positive step time")
    return batch * len(times) / total


Block = Sequence[float] | None


def round_ratios(member: Sequence[Block], baseline: Sequence[Block], member_batch: int,
                 baseline_batch: int) -> list[float]:
    """Per-round throughput ratios member / baseline (rounds where either did not run are
    left out). ``member[r]`` is the list of step times of round ``r``, or None."""
    if len(member) != len(baseline):
        raise ValueError("both members need one entry per round")
    return [block_rate(m, member_batch) / block_rate(b, baseline_batch)
            for m, b in zip(member, baseline, strict=True) if m and b]


def round_ratios_by_process(member: Sequence[Block], baseline: Sequence[Block],
                            member_batch: int, baseline_batch: int,
                            round_process: Sequence[int]) -> list[list[float]]:
    """:func:`round_ratios` grouped by the process that ran each round (``round_process[r]``;
    empty: all rounds in process 0), one list per process 0..max (empty where none paired)."""
    if len(member) != len(baseline):
        raise ValueError("both members need one entry per round")
    tags = list(round_process) or [0] * len(member)
    if len(tags) != len(member):
        raise ValueError("round_process needs one process per round")
    grouped: list[list[float]] = [[] for _ in range(max(tags, default=-1) + 1)]
    for m, b, p in zip(member, baseline, tags, strict=True):
        if m and b:
            grouped[p].append(block_rate(m, member_batch) / block_rate(b, baseline_batch))
    return grouped


@dataclass(frozen=True)
class RatioInterval:
    """A throughput ratio with its confidence interval (``low``/``high`` None: too few rounds
    for an interval at this confidence). ``rounds`` counts the paired rounds (or, unpaired,
    the smaller sample)."""

    ratio: float
    low: float | None
    high: float | None
    rounds: int
    confidence: float = CONFIDENCE
    method: str = PAIRED_METHOD

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def half_width(self) -> float:
        """(high - low) / 2 in ratio units (0.02 = 2 percentage points); inf without one."""
        return half_width(self.low, self.high)

    def contains(self, value: float) -> bool:
        """True when ``value`` lies in the interval (always, without an interval)."""
        if self.low is None or self.high is None:
            return True
        return self.low <= value <= self.high

    def side_of(self, value: float) -> int:
        """+1 when the interval lies wholly above ``value``, -1 wholly below, 0 otherwise."""
        if self.low is not None and self.low > value:
            return 1
        if self.high is not None and self.high < value:
            return -1
        return 0

    def inverse(self) -> RatioInterval:
        """The same comparison the other way round (B/A from A/B)."""
        return RatioInterval(1.0 / self.ratio, None if self.high is None else 1.0 / self.high,
                             None if self.low is None else 1.0 / self.low, self.rounds,
                             self.confidence, self.method)


def half_width(low: float | None, high: float | None) -> float:
    """The stopping rule's measure: half the interval's width (inf without an interval)."""
    if low is None or high is None:
        return math.inf
    return (high - low) / 2.0


@lru_cache(maxsize=256)
def _signed_rank_cdf(n: int) -> tuple[float, ...]:
    """P(T+ <= t), t = 0..n(n+1)/2, of the Wilcoxon signed-rank statistic for n values."""
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for rank in range(1, n + 1):
        for total in range(top, rank - 1, -1):
            counts[total] += counts[total - rank]
    scale = 2.0 ** n
    cdf, running = [], 0
    for count in counts:
        running += count
        cdf.append(running / scale)
    return tuple(cdf)


def signed_rank_rank(n: int, confidence: float = CONFIDENCE) -> int | None:
    """k such that the k-th smallest and k-th largest of the n(n+1)/2 Walsh averages bound a
    ``confidence`` interval (None: no such interval with n values).

    Exact (the largest k with P(T+ <= k - 1) <= alpha/2) up to :data:`EXACT_SIGNED_RANK_MAX`
    values; above, the normal approximation with continuity correction.
    """
    if n <= 0:
        return None
    alpha = 1.0 - confidence
    if n <= EXACT_SIGNED_RANK_MAX:
        cdf = _signed_rank_cdf(n)
        k = 0
        while k < len(cdf) and cdf[k] <= alpha / 2:
            k += 1
        return k or None
    return normal_signed_rank_rank(n, confidence)


def normal_signed_rank_rank(n: int, confidence: float = CONFIDENCE) -> int:
    """:func:`signed_rank_rank` from the normal approximation of T+ (mean n(n+1)/4, variance
    n(n+1)(2n+1)/24) with continuity correction."""
    from statistics import NormalDist

    mean = n * (n + 1) / 4.0
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2)
    return max(1, math.floor(mean - z * sd + 0.5))


def _walsh_averages(values: Sequence[float]) -> list[float]:
    n = len(values)
    return sorted((values[i] + values[j]) / 2.0 for i in range(n) for j in range(i, n))


def hodges_lehmann(values: Sequence[float]) -> float:
    """The Hodges-Lehmann estimate of the centre: the median of the Walsh averages."""
    return median(_walsh_averages(_checked(values)))


def ratio_interval(ratios: Sequence[float], confidence: float = CONFIDENCE) -> RatioInterval:
    """Estimate and interval of a ratio from its per-round values (see the module doc)."""
    if not ratios or any(r <= 0 or not math.isfinite(r) for r in ratios):
        raise ValueError("ratios must be positive and finite, at least one")
    logs = sorted(math.log(r) for r in ratios)
    walsh = _walsh_averages(logs)
    estimate = math.exp(median(walsh))
    k = signed_rank_rank(len(logs), confidence)
    if k is None:
        return RatioInterval(estimate, None, None, len(logs), confidence)
    return RatioInterval(estimate, math.exp(walsh[k - 1]), math.exp(walsh[len(walsh) - k]),
                         len(logs), confidence)


def min_detectable_change(interval: RatioInterval, power: float = 0.8) -> float | None:
    """The smallest relative change that the same budget would detect with ``power``.

    From an A/A interval: a true change of ``d`` makes the interval exclude 1 when ``d``
    exceeds its half-width; with sampling spread, ``power`` of the runs do so when ``d`` is
    (z_{1-alpha/2} + z_{power}) / z_{1-alpha/2} half-widths (the usual minimum detectable
    effect; 1.43 half-widths at 95% and 80%). None without an interval.
    """
    if not interval.has_interval:
        return None
    from statistics import NormalDist

    unit = NormalDist()
    z_alpha = unit.inv_cdf(1.0 - (1.0 - interval.confidence) / 2)
    return interval.half_width * (z_alpha + unit.inv_cdf(power)) / z_alpha


# --- one sample and two samples ---------------------------------------------------------------


def _order_statistic_rank(n: int, confidence: float) -> int | None:
    """The largest k with P(Binomial(n, 1/2) <= k - 1) <= alpha/2 (None if even k = 1 fails)."""
    alpha = 1.0 - confidence
    k, below = 0, 0.0
    while k < n:
        below += math.comb(n, k) / 2.0 ** n
        if below > alpha / 2:
            break
        k += 1
    return k or None


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE
                    ) -> tuple[float, float]:
    """A distribution-free interval for the median: order statistics x_(k), x_(n-k+1) with
    binomial coverage >= ``confidence``; the full range [min, max] when n is too small."""
    ordered = _checked(values)
    k = _order_statistic_rank(len(ordered), confidence)
    if k is None:
        return ordered[0], ordered[-1]
    return ordered[k - 1], ordered[len(ordered) - k]


def unpaired_ratio_interval(member: Sequence[float], baseline: Sequence[float],
                            confidence: float = CONFIDENCE) -> RatioInterval:
    """Ratio of the medians of two separate samples (images/s) with a conservative interval:
    each median's interval at sqrt(``confidence``), the ratio's from their extremes."""
    each = math.sqrt(confidence)
    low_m, high_m = median_interval(member, each)
    low_b, high_b = median_interval(baseline, each)
    return RatioInterval(median(member) / median(baseline), low_m / high_b, high_m / low_b,
                         min(len(member), len(baseline)), confidence, UNPAIRED_METHOD)


@dataclass(frozen=True)
class TestOutcome:
    """Whether two samples differ: ``test`` names the rule that decided; ``p_value`` is None
    for the interval-overlap fallback; ``direction`` is the sign of median(b) - median(a)."""

    different: bool
    test: str
    p_value: float | None
    direction: int

    __test__ = False  # not a pytest test class


MANN_WHITNEY = "Mann-Whitney U"
OVERLAP = "99% median intervals overlap (few samples)"


def two_sample_test(a: Sequence[float], b: Sequence[float],
                    alpha: float = COMPARE_ALPHA) -> TestOutcome:
    """Do samples ``a`` and ``b`` differ? (see the module doc: Mann-Whitney U, or the
    median-interval overlap when the samples are too few for the test to reach ``alpha``)."""
    first, second = _checked(a), _checked(b)
    centre_a, centre_b = median(first), median(second)
    direction = (centre_b > centre_a) - (centre_b < centre_a)
    n, m = len(first), len(second)
    if 2.0 / math.comb(n + m, min(n, m)) < alpha:
        from scipy.stats import mannwhitneyu

        p_value = float(mannwhitneyu(first, second, alternative="two-sided").pvalue)
        return TestOutcome(p_value < alpha, MANN_WHITNEY, p_value, direction)
    level = 0.99
    apart = not intervals_overlap(median_interval(first, level), median_interval(second, level))
    return TestOutcome(apart, OVERLAP, None, direction)


# --- two levels: rounds within processes -----------------------------------------------------


@dataclass(frozen=True)
class BetweenPrior:
    """A between-process SD ``sd`` of a log ratio (``tau0``) worth ``df`` degrees of freedom,
    and where it came from (``calibration``, ``pooled`` or ``default``)."""

    sd: float
    df: float
    source: str

    def __post_init__(self) -> None:
        if not self.sd >= 0 or not self.df > 0:
            raise ValueError("a between-process prior needs sd >= 0 and df > 0")
        if self.source not in PRIOR_SOURCES:
            raise ValueError(f"unknown prior source {self.source!r}; valid: "
                             f"{', '.join(PRIOR_SOURCES)}")


DEFAULT_BETWEEN_PRIOR = BetweenPrior(DEFAULT_BETWEEN_SD, DEFAULT_BETWEEN_DF, "default")


@dataclass(frozen=True)
class ProcessEstimate:
    """One process's ratio (``exp`` of the Hodges-Lehmann estimate of its log ratios), its
    rounds, the robust SD (1.4826 * MAD) of its per-round log ratios (0 with one round) and
    the standard error of its log-scale estimate (see the module doc)."""

    ratio: float
    rounds: int
    within_sd: float
    estimate_se: float = 0.0


@dataclass(frozen=True)
class TwoLevelInterval:
    """:func:`two_level_interval`'s answer: the headline ``interval``, each process's
    estimate, the pooled robust within-process SD of one round's log ratio, the data's own
    between-process SD (None with one process), which variance built the interval, its
    degrees of freedom, and the Wilcoxon interval over all rounds (a diagnostic)."""

    interval: RatioInterval
    processes: tuple[ProcessEstimate, ...]
    within_sd: float
    between_sd: float | None
    variance_source: str
    df: float
    within: RatioInterval


@lru_cache(maxsize=256)
def _t_quantile(probability: float, df: float) -> float:
    # scipy.stats.t.ppf's own function: importing scipy.stats takes 1 s more on a 2-core CPU
    from scipy.special import stdtrit

    return float(stdtrit(df, probability))


MAD_TO_SD = 1.4826  # the MAD's consistency factor for the SD of a normal distribution
HL_VARIANCE_FACTOR = math.pi / 3.0  # var(HL) = (pi/3) sigma^2 / n under normality (ARE 3/pi)


def _mad_sd(residuals: Sequence[float]) -> float:
    """1.4826 * the median absolute value of ``residuals`` (0 for none): a robust SD."""
    return MAD_TO_SD * median([abs(r) for r in residuals]) if residuals else 0.0


def _residuals(logs: Sequence[Sequence[float]]) -> list[float]:
    """Every round's deviation from its own process's median (processes of >= 2 rounds)."""
    out: list[float] = []
    for p in logs:
        if len(p) > 1:
            centre = median(p)
            out.extend(x - centre for x in p)
    return out


def _robust_within_sd(logs: Sequence[Sequence[float]]) -> float:
    """The pooled robust within-process SD of one round's log ratio: 1.4826 * MAD of the
    rounds' deviations from their process's median (0 when no process has two rounds)."""
    return _mad_sd(_residuals(logs))


def estimate_variance(rounds: int, within_sd: float) -> float:
    """The variance of one process's Hodges-Lehmann estimate from ``rounds`` rounds:
    ``(pi/3) * within_sd^2 / rounds`` (see the module doc)."""
    return HL_VARIANCE_FACTOR * within_sd ** 2 / rounds


def _process_estimates(logs: Sequence[Sequence[float]]) -> tuple[list[float], list[float],
                                                                  float]:
    """Each process's Hodges-Lehmann log ratio and that estimate's variance, and the pooled
    robust within-process SD of one round."""
    pooled = _robust_within_sd(logs)
    return ([hodges_lehmann(p) for p in logs],
            [estimate_variance(len(p), pooled) for p in logs], pooled)


def between_estimate(process_logs: Sequence[Sequence[float]]) -> tuple[float, int]:
    """From per-round *log* ratios grouped by process: the data's between-process variance,
    ``max(0, s_m^2 - mean(v_p))`` (``m_p``: each process's Hodges-Lehmann estimate, ``v_p``:
    its variance, see the module doc), and its degrees of freedom ``P - 1`` (0, 0 for fewer
    than two processes)."""
    logs = [list(p) for p in process_logs if p]
    if len(logs) < 2:
        return 0.0, 0
    centres, variances, _ = _process_estimates(logs)
    return (max(0.0, statistics.variance(centres) - statistics.fmean(variances)),
            len(logs) - 1)


def pooled_between_prior(estimates: Sequence[tuple[float, int]]) -> BetweenPrior | None:
    """A prior pooled from several groups' :func:`between_estimate` (variance, df): their
    df-weighted mean variance, with the summed df (None when no group had two processes).
    Each variance is already the robust one (spread of per-process Hodges-Lehmann estimates
    less their ``v_p``), so the pooling itself assumes nothing more about the rounds."""
    df = sum(d for _, d in estimates if d > 0)
    if not df:
        return None
    variance = sum(v * d for v, d in estimates if d > 0) / df
    return BetweenPrior(math.sqrt(variance), float(df), "pooled")


def pooled_within_sd(groups: Sequence[Sequence[float]]) -> float | None:
    """The pooled SD of values about their own group's mean (groups of one value add
    nothing): for builds' log estimates grouped by process, the spread between builds inside
    a process. None when no group has two values."""
    kept = [list(g) for g in groups if len(g) > 1]
    df = sum(len(g) - 1 for g in kept)
    if not df:
        return None
    squares = sum((x - statistics.fmean(g)) ** 2 for g in kept for x in g)
    return math.sqrt(squares / df)


def _log_ratios(ratios: Sequence[float]) -> list[float]:
    if any(r <= 0 or not math.isfinite(r) for r in ratios):
        raise ValueError("ratios must be positive and finite")
    return [math.log(r) for r in ratios]


def two_level_interval(process_ratios: Sequence[Sequence[float]],
                       prior: BetweenPrior | None = None,
                       confidence: float = CONFIDENCE) -> TwoLevelInterval:
    """Estimate and interval of a ratio from per-round ratios grouped by process (see the
    module doc, "Two levels"); processes without a round are left out. ``prior`` (default
    :data:`DEFAULT_BETWEEN_PRIOR`) is used below :data:`MIN_PROCESSES_FOR_DATA` processes."""
    logs = [_log_ratios(p) for p in process_ratios if p]
    if not logs:
        raise ValueError("a two-level interval needs at least one round")
    prior = prior or DEFAULT_BETWEEN_PRIOR
    centres, variances, within_sd = _process_estimates(logs)
    count = len(logs)
    spread = statistics.variance(centres) if count > 1 else 0.0
    if count >= MIN_PROCESSES_FOR_DATA:
        process_variance, df, source = spread, float(count - 1), "processes"
    else:
        expected = prior.sd ** 2 + statistics.fmean(variances)
        df = count - 1 + prior.df
        process_variance = ((count - 1) * spread + prior.df * expected) / df
        source = prior.source
    centre = statistics.fmean(centres)
    reach = _t_quantile(1.0 - (1.0 - confidence) / 2, df) * math.sqrt(process_variance / count)
    rounds = sum(len(p) for p in logs)
    interval = RatioInterval(math.exp(centre), math.exp(centre - reach), math.exp(centre + reach),
                             rounds, confidence, TWO_LEVEL_METHOD)
    between = (max(0.0, spread - statistics.fmean(variances)) if count > 1 else 0.0)
    return TwoLevelInterval(
        interval=interval,
        processes=tuple(ProcessEstimate(math.exp(m), len(p), _mad_sd(_residuals([p])),
                                        math.sqrt(v))
                        for m, v, p in zip(centres, variances, logs, strict=True)),
        within_sd=within_sd, between_sd=math.sqrt(between) if count > 1 else None,
        variance_source=source, df=df,
        within=ratio_interval([r for p in process_ratios for r in p], confidence))
