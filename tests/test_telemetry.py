"""Per-round telemetry: the disturbed rule on made-up figures, the rounds engine leaving
disturbed rounds out (scripted members on a fake clock, a scripted sampler), the GPU path on
a fake NVML module, and the CPU path against a real busy-loop process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from profiler.measure.timing.group import group_record
from profiler.report.interference import disturbance_lines, interference_warning
from profiler.results.group import GroupResult
from profiler.results.telemetry import CpuRound, GpuRound, RoundTelemetry
from profiler.results.validate import validate_result_data
from profiler.rounds import PairingSettings, run_rounds
from profiler.telemetry import MachineSampler, cuda_index
from profiler.telemetry.cpu import CpuSampler, cpu_sampler
from profiler.telemetry.gpu import GpuSampler, gpu_environment, gpu_sampler, nvml_index
from profiler.telemetry.rounds import (
    FOREIGN_CPU_THRESHOLD,
    counted_ratios,
    counted_rounds,
    disturbances,
    reason_names,
)
from tests.helpers.fake_members import ScriptedMember, SharedClock

QUIET = CpuRound(wall_s=0.5, own_cpu_s=0.5, own_capacity_s=1.0, foreign_cpu_s=0.02,
                 steal_s=0.0, machine_cpu_s=1.0)
BUSY = CpuRound(wall_s=0.5, own_cpu_s=0.5, own_capacity_s=1.0, foreign_cpu_s=0.48,
                steal_s=0.0, machine_cpu_s=1.0)


# --- the rule -----------------------------------------------------------------------------

def test_the_disturbed_rule_on_made_up_rounds() -> None:
    assert disturbances(QUIET, None) == ()
    assert disturbances(BUSY, None) == ("foreign_cpu",)
    at_threshold = CpuRound(0.5, 0.5, 1.0, FOREIGN_CPU_THRESHOLD * 1.0, 0.0, 1.0)
    assert disturbances(at_threshold, None) == ("foreign_cpu",)
    stolen = CpuRound(0.5, 0.5, 1.0, 0.0, 0.03, 1.0)
    assert disturbances(stolen, None) == ("steal",)
    short = CpuRound(0.01, 0.01, 0.02, 0.02, 0.0, 0.02)  # a tick or two: not judged
    assert disturbances(short, None) == ()
    assert disturbances(None, GpuRound(samples=2, reasons=0x4 | 0x1)) == ()  # power cap: fine
    assert disturbances(None, GpuRound(samples=2, reasons=0x40 | 0x20 | 0x80 | 0x8)) == (
        "gpu_hw_slowdown", "gpu_thermal", "gpu_power_brake")
    assert reason_names(0x24) == ("sw_power_cap", "sw_thermal_slowdown")
    assert reason_names(0x10000) == ("0x10000",)


def test_counted_rounds_leave_disturbed_ones_out_unless_too_few_are_clean() -> None:
    eight = [False] * 6 + [True, True]
    assert counted_rounds(eight) == (True,) * 6 + (False, False)
    five_clean = [False] * 5 + [True] * 3
    assert counted_rounds(five_clean) == (True,) * 8  # too few for an interval: all count
    a = [(1.0,), (1.0,), None, (2.0,)]
    b = [(1.0,), (2.0,), (1.0,), (1.0,)]
    assert counted_ratios(a, b, 1, 1) == [1.0, 2.0, 0.5]
    with pytest.raises(ValueError):
        counted_ratios(a, b[:3], 1, 1)


# --- the engine: a fake clock and a scripted sampler ---------------------------------------

class ScriptedSampler:
    """Marks the rounds in ``busy`` as disturbed by another process and, while one runs,
    slows member ``m1`` down by 30% (through ``state``), as a neighbour on its CPU would."""

    absent: tuple[str, ...] = ()

    def __init__(self, busy: set[int], state: dict[str, bool]) -> None:
        self.busy, self.state, self.round = busy, state, 0

    def begin(self) -> None:
        self.state["busy"] = self.round in self.busy

    def end(self) -> RoundTelemetry:
        cpu = BUSY if self.state["busy"] else QUIET
        self.round += 1
        self.state["busy"] = False
        return RoundTelemetry(cpu=cpu, disturbed_by=disturbances(cpu, None), cost_s=1e-4)


def _outcome(busy: set[int], min_rounds: int = 12) -> Any:
    clock, state = SharedClock(), {"busy": False}
    members = [ScriptedMember("m0", clock, 0.1),
               ScriptedMember("m1", clock, lambda t: 0.125 * (1.3 if state["busy"] else 1.0))]
    settings = PairingSettings(block_time=0.25, min_rounds=min_rounds, max_rounds=100,
                               group_time=1e9)
    return run_rounds(members, settings, seed=3, now=clock.now,
                      sampler=ScriptedSampler(busy, state))


def test_leaving_disturbed_rounds_out_restores_the_quiet_ratio() -> None:
    quiet = _outcome(set())
    busy = _outcome({2, 3, 4, 7})
    assert quiet.comparisons[1].ratio == pytest.approx(0.8)
    assert busy.disturbed == tuple(r in {2, 3, 4, 7} for r in range(busy.rounds))
    clean, everything = busy.comparisons[1], busy.comparisons_all[1]
    assert clean.ratio == pytest.approx(0.8) and clean.low == pytest.approx(0.8)
    assert clean.high == pytest.approx(0.8) and clean.rounds == busy.rounds - 4
    # on all rounds the neighbour drags the ratio 10 points down (a busy round gives 0.615)
    assert everything.rounds == busy.rounds and everything.ratio == pytest.approx(0.7016, abs=1e-3)
    specs = [SimpleNamespace(case_id=c, label=c) for c in ("a", "b")]
    group = group_record(busy, specs, ["m0", "m1"], "comparison", None, "", 1.0)
    ratio = group.ratios[0]
    assert ratio.rounds_disturbed == 4 and ratio.throughput_ratio == pytest.approx(0.8)
    assert ratio.ratio_all_rounds == pytest.approx(everything.ratio)
    assert group.disturbed_rounds == 4 and not group.mostly_disturbed
    data = group.to_dict()
    validate_result_data({"groups": [data]}, "x.json")
    again = GroupResult.from_dict(data)
    assert again.telemetry == group.telemetry and again.ratios == group.ratios


def test_the_stopping_rule_waits_for_enough_clean_rounds() -> None:
    outcome = _outcome(set(range(10)), min_rounds=8)  # the first 10 rounds all disturbed
    assert outcome.stopped == "converged"
    assert outcome.rounds == 16  # 10 disturbed, then the 6 clean rounds an interval needs
    assert outcome.comparisons[1].ratio == pytest.approx(0.8)


def test_the_warning_and_the_report_name_what_interfered() -> None:
    outcome = _outcome(set(range(9)), min_rounds=8)
    spec = SimpleNamespace(case_id="c", label="TinyNet")
    group = group_record(outcome, [spec, spec], ["none", "se"], "comparison", None, "", 1.0)
    assert group.mostly_disturbed and outcome.rounds == 15
    assert interference_warning([group.telemetry]) == (
        "attnprof: warning: another process used 48% of the CPU during 9 of 15 rounds "
        "(disturbed rounds left out of the ratios; 1 of 1 group mostly disturbed)")
    assert interference_warning([_outcome(set()).telemetry]) is None
    always = _outcome(set(range(100)))  # never clean: runs to max_rounds, ratios on every round
    assert always.stopped == "max rounds" and always.rounds == 100
    assert always.comparisons[1].rounds == 100
    assert interference_warning([always.telemetry]).endswith(
        "1 of 1 group mostly disturbed; 1 of 1 group had under 6 clean rounds: their ratios use "
        "every round)")
    lines = disturbance_lines([group])
    assert lines[0].endswith("TinyNet (none/se) 9/15 (60%), mostly disturbed")
    assert "mostly disturbed" in lines[1]


def test_a_group_without_telemetry_loads_as_undisturbed() -> None:
    old = {"group_id": "group-0", "members": [
        {"case_id": "a", "name": "none", "batch": 1, "times": [[0.1], [0.1]]},
        {"case_id": "b", "name": "se", "batch": 1, "times": [[0.2], [0.2]]}],
        "orders": [[0, 1], [1, 0]], "ratios": [{"member": 1, "rounds": 2}]}
    group = GroupResult.from_dict(old)
    assert group.disturbed == (False, False) and not group.mostly_disturbed
    assert group.ratios[0].rounds_disturbed == 0 and group.ratios[0].ratio_all_rounds is None
    assert disturbance_lines([group]) == [
        "disturbed rounds: no telemetry (groups timed without per-round telemetry)"]


def test_telemetry_off_records_why() -> None:
    clock = SharedClock()
    members = [ScriptedMember("a", clock, 0.1), ScriptedMember("b", clock, 0.1)]
    settings = PairingSettings(block_time=0.1, min_rounds=6, telemetry=False)
    outcome = run_rounds(members, settings, now=clock.now)
    assert outcome.telemetry == () and outcome.telemetry_absent == ("telemetry off",)
    assert outcome.disturbed == (False,) * outcome.rounds


# --- the GPU path on a fake NVML ------------------------------------------------------------

class FakeNvml:  # NVML's camelCase names
    """Scripted NVML: each reading returns the next of ``sm``/``reasons`` (the last repeats)."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    def __init__(self, sm: list[int], reasons: list[int]) -> None:
        self.sm, self.reasons, self.reads = sm, reasons, 0

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        if index > 0:
            raise RuntimeError("Invalid Argument")
        return "h0"

    def _next(self, values: list[int]) -> int:
        return values[min(self.reads, len(values) - 1)]

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:
        return self._next(self.sm) if kind == self.NVML_CLOCK_SM else 2619

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return 350_000

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return 60 + self.reads

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        value = self._next(self.reasons)
        self.reads += 1
        return value

    def nvmlDeviceGetComputeRunningProcesses(self, handle: str) -> list[Any]:
        return [SimpleNamespace(pid=os.getpid()), SimpleNamespace(pid=1)]

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return b"560.35.03"

    def nvmlDeviceGetUUID(self, handle: str) -> str:
        return "GPU-1234"

    def nvmlDeviceGetName(self, handle: str) -> str:
        return "Fake H100"

    def nvmlDeviceGetPersistenceMode(self, handle: str) -> int:
        return 1

    def nvmlDeviceGetPowerManagementLimit(self, handle: str) -> int:
        return 700_000

    def nvmlDeviceGetEccMode(self, handle: str) -> tuple[int, int]:
        return (1, 1)

    def nvmlDeviceGetMigMode(self, handle: str) -> tuple[int, int]:
        raise RuntimeError("Not Supported")

    def nvmlDeviceGetApplicationsClock(self, handle: str, kind: int) -> int:
        return 1755

    def nvmlDeviceGetDefaultApplicationsClock(self, handle: str, kind: int) -> int:
        return 1755

    def nvmlDeviceGetMaxClockInfo(self, handle: str, kind: int) -> int:
        return 1980


def test_gpu_rounds_from_a_fake_nvml() -> None:
    nvml = FakeNvml(sm=[1755, 1384, 1500], reasons=[0x0, 0x20, 0x4])
    sampler = GpuSampler(nvml, 0, interval=0)  # samples at begin and end only
    sampler.begin()
    first = sampler.end()  # readings 0 and 1
    assert first.samples == 2 and first.sm_clock_min_mhz == 1384
    assert first.sm_clock_median_mhz == pytest.approx((1755 + 1384) / 2)
    assert first.mem_clock_min_mhz == 2619 and first.power_w == pytest.approx(350.0)
    assert first.temperature_c == 61 and first.other_processes == 1
    assert first.reasons == 0x20 and disturbances(None, first) == ("gpu_thermal",)
    sampler.begin()
    second = sampler.end()  # readings 2 and 3: power cap only
    assert second.reasons == 0x4 and disturbances(None, second) == ()
    machine = MachineSampler(None, GpuSampler(FakeNvml([1755], [0x80]), 0, interval=0))
    machine.begin()
    assert machine.end().disturbed_by == ("gpu_power_brake",)


def test_gpu_sampling_thread_takes_samples_during_the_round() -> None:
    nvml = FakeNvml(sm=[1755], reasons=[0])
    sampler = GpuSampler(nvml, 0, interval=0.005)
    sampler.begin()
    time.sleep(0.1)
    assert sampler.end().samples > 2


def test_gpu_environment_and_absence() -> None:
    found = gpu_environment(0, FakeNvml([1755], [0]))
    assert found["driver"] == "560.35.03" and found["uuid"] == "GPU-1234"
    assert found["persistence_mode"] == 1 and found["power_limit_w"] == pytest.approx(700.0)
    assert found["ecc_mode"] == 1 and found["mig_mode"] is None
    assert found["clock_policy"] == "default" and found["max_clock_sm_mhz"] == 1980
    missing = gpu_environment(3, FakeNvml([1755], [0]))
    assert missing["absent"].startswith("gpu: NVML has no device 3")
    sampler, why = gpu_sampler(5, FakeNvml([1755], [0]))
    assert sampler is None and why is not None and "no device 5" in why
    assert nvml_index(1, "3,2") == 2 and nvml_index(1, "GPU-a,GPU-b") == 1
    assert cuda_index("cuda:2") == 2 and cuda_index("cuda") == 0 and cuda_index("cpu") is None


# --- the CPU path on a made-up /proc, then against a real busy loop --------------------------

def _fake_proc(root: Path, machine: str, mine: tuple[int, int, int, int], child: int) -> None:
    """``/proc`` with the machine's ``cpu`` line, this process (pid ``self``: utime, stime,
    cutime, cstime) and one live child, pid 42 (its utime; stime 0)."""
    (root / "self" / "task" / "1").mkdir(parents=True, exist_ok=True)
    (root / "42" / "task" / "42").mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text(f"cpu  {machine}\ncpu0 1 2 3\n")
    before = "S 1 1 1 0 -1 0 0 0 0 0"
    (root / "self" / "stat").write_text(f"7 (a (b) c) {before} {' '.join(map(str, mine))} 20\n")
    (root / "self" / "task" / "1" / "children").write_text("42 ")
    (root / "42" / "stat").write_text(f"42 (worker) {before} {child} 0 0 0 20\n")
    (root / "42" / "task" / "42" / "children").write_text("")


def test_cpu_figures_from_a_made_up_proc(tmp_path: Path) -> None:
    sampler = CpuSampler(proc=tmp_path)
    _fake_proc(tmp_path, "100 0 50 800 10 0 0 5 0 0", (10, 5, 1, 0), 7)
    sampler.begin(0.0)
    # +60 user +20 system = 80 busy ticks, +100 idle, +4 steal; own: +20 +5 +3 (a waited-for
    # child) and +10 of the live child = 38 ticks; foreign = 80 - 38 = 42 ticks
    _fake_proc(tmp_path, "160 0 70 900 10 0 0 9 0 0", (30, 10, 4, 0), 17)
    round_ = sampler.end(1.0)
    tick = sampler.tick
    assert round_ is not None and round_.wall_s == 1.0
    assert round_.own_cpu_s == pytest.approx(38 / tick)
    assert round_.foreign_cpu_s == pytest.approx(42 / tick)
    assert round_.steal_s == pytest.approx(4 / tick)
    assert round_.machine_cpu_s == pytest.approx(184 / tick)
    assert round_.own_capacity_s == pytest.approx(sampler.capacity)
    assert sampler.end(2.0) is None  # no round begun
    missing, why = cpu_sampler(tmp_path / "none")
    assert missing is None and why is not None and why.startswith("cpu: /proc/stat not readable")


# --- the CPU path against a real busy loop --------------------------------------------------

BUSY_LOOP = "import time\nend = time.time() + 20\nwhile time.time() < end: pass\n"


def _ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timing  # CPU shares of its own busy processes
@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_a_busy_process_elsewhere_is_foreign_and_a_busy_child_is_own() -> None:
    """Another process's CPU time shows as foreign (it is not ours: started through a shell
    that exits, so it is no descendant), a child's as this process's own (a worker process
    of the group). The machine is shared: assert on attribution, not on quiet baselines."""
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    outsider = int(subprocess.run(
        ["sh", "-c", f"{sys.executable} -c '{BUSY_LOOP}' >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, check=True).stdout)
    child = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        time.sleep(0.2)  # both running
        sampler = CpuSampler()
        outsider_before, child_before = _ticks(outsider), _ticks(child.pid)
        sampler.begin(time.perf_counter())
        time.sleep(0.8)
        round_ = sampler.end(time.perf_counter())
        outsider_used = _ticks(outsider) - outsider_before
        child_used = _ticks(child.pid) - child_before
    finally:
        os.kill(outsider, signal.SIGKILL)
        child.kill()
        child.wait()
    assert round_ is not None and round_.wall_s >= 0.8
    assert outsider_used > 0.05 and child_used > 0.05  # both ran
    slack = 3 * tick * (os.cpu_count() or 1)
    assert round_.own_cpu_s >= child_used - slack  # the child is ours
    assert round_.foreign_cpu_s >= outsider_used - slack  # the outsider is foreign
    assert round_.foreign_cpu_s <= round_.machine_cpu_s - round_.own_cpu_s + slack
    if outsider_used / round_.machine_cpu_s >= FOREIGN_CPU_THRESHOLD + 0.05:
        assert "foreign_cpu" in disturbances(round_, None)


# --- end to end: the warning on the command line ------------------------------------------

class SecondRoundBusy:
    """This machine's sampler stand-in: the second round was disturbed by another process."""

    absent: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.round = 0

    def begin(self) -> None:
        pass

    def end(self) -> RoundTelemetry:
        cpu = BUSY if self.round == 1 else QUIET
        self.round += 1
        return RoundTelemetry(cpu=cpu, disturbed_by=disturbances(cpu, None))


def test_bench_and_compare_warn_and_the_file_keeps_the_rounds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.cli import main
    from profiler.results import load_result_file

    busy = SecondRoundBusy()  # one sampler across the process's builds: round 1 of all
    monkeypatch.setattr("profiler.rounds.default_sampler", lambda devices: busy)
    out = tmp_path / "vs.json"
    assert main(["bench", "tests.helpers.user_objects:TinyNet", "--vs", "eca", "--input",
                 "3x16x16", "--batch", "2", "--threads", "1", "--no-memory", "--warmup", "1",
                 "--block-time", "0.002", "--min-rounds", "6", "--max-rounds", "8",
                 "--group-time", "0.3", "--seed", "3", "--processes", "1",  # the fake sampler
                 "-o", str(out)]) == 0                                     # lives in-process
    captured = capsys.readouterr()
    group = load_result_file(out).groups[0]
    rounds = group.rounds
    assert group.disturbed == tuple(r == 1 for r in range(rounds))
    assert group.ratios[0].rounds_disturbed == 1 and group.ratios[0].rounds == rounds - 1
    assert f"disturbed rounds: 1/{rounds}" in captured.out
    assert captured.err.splitlines()[-1] == (
        f"attnprof: warning: another process used 48% of the CPU during 1 of {rounds} rounds "
        "(disturbed rounds left out of the ratios)")
    assert main(["compare", str(out), str(out), "--fail-on", "images_per_sec:off"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [f"attnprof: warning: {out}: another process used 48% of the CPU "
                        f"during 1 of {rounds} rounds (disturbed rounds left out of the "
                        "ratios)"] * 2


def test_the_gate_pools_telemetry_and_leaves_disturbed_rounds_out() -> None:
    from profiler.gate.pairing import combine_attempts
    from profiler.results.gate import SideTiming, TimingCase

    quiet, busy = RoundTelemetry(cpu=QUIET), RoundTelemetry(cpu=BUSY,
                                                            disturbed_by=("foreign_cpu",))
    base = SideTiming(batch=1, blocks=((0.1,),) * 6)
    slowed = SideTiming(batch=1, blocks=((0.1,), (0.1,), (0.3,), (0.1,), (0.1,), (0.1,)))
    first = TimingCase(case_id="c", label="L", decision="regression", base=base, head=slowed,
                       rounds=6, telemetry=(quiet, quiet, busy, quiet, quiet, quiet))
    second = TimingCase(case_id="c", label="L", decision="unchanged", base=base, head=base,
                        rounds=6, telemetry=(quiet,) * 6)
    case = combine_attempts(first, second, 0.05)
    assert case.rounds == 12 and case.rounds_disturbed == 1 and len(case.telemetry) == 12
    assert case.ratio == pytest.approx(1.0) and case.ci_low == pytest.approx(1.0)
    assert case.decision == "unchanged" and case.confirmation == "not confirmed"
    assert TimingCase.from_dict(case.to_dict()) == case
    assert case.to_dict()["rounds_disturbed"] == 1
