"""Every statistic attnprof computes, in one place: pure functions on lists of floats.

No torch, no clock: the timing harness, the rounds engine, the report and ``compare`` import
these, and the tests check them on made-up numbers and fake clocks. (scipy is imported
lazily, only by the two-sample test.)

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
    "EXACT_SIGNED_RANK_MAX",
    "MIN_ROUNDS_FOR_INTERVAL",
    "NOISY_IQR_RATIO",
    "PAIRED_METHOD",
    "UNPAIRED_METHOD",
    "RatioInterval",
    "Summary",
    "TestOutcome",
    "block_rate",
    "cv",
    "half_width",
    "hodges_lehmann",
    "intervals_overlap",
    "iqr",
    "is_settled",
    "median",
    "median_interval",
    "min_detectable_change",
    "normal_signed_rank_rank",
    "quantile",
    "quartiles",
    "ratio_interval",
    "round_ratios",
    "signed_rank_rank",
    "steps_for_budget",
    "summarize",
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
