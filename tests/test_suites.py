"""Suite files: line lookup, validation errors, expansion, discovery and the shipped suites."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from profiler.errors import AttnprofError, DeviceUnavailableError, SuiteError, UnknownNameError
from profiler.measure.device import available_device
from profiler.spec import BenchSpec, BreakdownSpec, CountSpec
from profiler.suites import expand_suite, find_suite, load_suite, load_suite_file, parse_suite
from profiler.suites.groups import comparison_groups, group_key, pairing_settings
from profiler.suites.toml_lines import format_key_path, locate_line

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "suites"
SHIPPED = ROOT / "suites"

PAPER_MODELS = ("resnet18", "resnet50", "resnet101", "resnet152", "mobilenet_v2")
PAPER_BLOCKS = ("se", "cbam", "gc", "eca")



def _suite(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- finding lines in TOML text ---------------------------------------------------------------

TOML = """\
[suite]
name = "x"

[budget.cpu]
batch = 8

[[matrix]]
kind = "count"

[[matrix]]
kind = "bench"
options.eca = { k_size = 3 }
models = [
  "resnet50",
  "resnet101",
]
"""


@pytest.mark.parametrize(("path", "value", "line"), [
    (("suite", "name"), None, 2),
    (("budget", "cpu", "batch"), None, 5),
    (("matrix", 0, "kind"), None, 8),
    (("matrix", 1, "kind"), None, 11),
    (("matrix", 1), None, 10),
    (("matrix", 1, "options", "eca", "k_size"), None, 12),
    (("matrix", 1, "models"), None, 13),
    (("matrix", 1, "models"), "resnet101", 15),
    (("matrix", 1, "missing"), None, 10),
    (("nowhere",), None, None),
])
def test_locate_line(path: tuple[str | int, ...], value: str | None, line: int | None) -> None:
    assert locate_line(TOML, path, value) == line


def test_format_key_path_shows_array_positions_one_based() -> None:
    assert format_key_path(("matrix", 1, "include", 0, "models")) == "matrix[2].include[1].models"


# --- malformed suites -------------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "line", "fragment"), [
    ("syntax-error.toml", 6, "TOML syntax error in 'models = [resnet18]'"),
    ("unknown-key.toml", 11, "key 'matrix[2].atention': unknown key (did you mean 'attention'?)"),
    ("unknown-block.toml", 9, "key 'matrix[1].attention': unknown block 'sex' (did you mean "
     "'se'?)"),
    ("bad-shape.toml", 10, "key 'matrix[1].input': malformed shape '3x224'"),
    ("empty-matrix.toml", 5, "key 'matrix': no [[matrix]] entries"),
    ("wrong-type.toml", 8, "key 'budget.cpu.batch': expected an integer >= 1, got 'eight'"),
])
def test_malformed_fixture_suites_name_file_line_and_key(fixture: str, line: int,
                                                         fragment: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite_file(FIXTURES / fixture)
    message = str(info.value)
    assert "\n" not in message
    assert f"{fixture}:{line}: " in message
    assert fragment in message


@pytest.mark.parametrize(("body", "fragment"), [
    ('[suite]\ndevice = "tpu"\n[[matrix]]\nkind = "count"\nmodels = "resnet18"\n',
     "s.toml:2: key 'suite.device': unknown device 'tpu'"),
    ('[[matrix]]\nmodels = "resnet18"\n', "s.toml:1: key 'matrix[1]': missing key \"kind\""),
    ('[[matrix]]\nkind = "count"\nmodels = "resnet18"\nmodes = ["infer"]\n',
     "s.toml:4: key 'matrix[1].modes': does not apply to kind = \"count\""),
    ('[[matrix]]\nkind = "count"\nmodels = "resnet18"\nblocks = "se"\n',
     "give exactly one of models = [...] or blocks = [...]"),
    ('[[matrix]]\nkind = "bench"\nblocks = "se"\ninput = "3x8x8"\nshapes = "8x4x4"\n',
     "s.toml:4: key 'matrix[1].input': does not apply to an entry with blocks"),
    ('[[matrix]]\nkind = "bench"\nblocks = "se"\nchannels = 8\n',
     "needs shapes = [...] or both channels and sizes"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnt18"\n',
     "s.toml:3: key 'matrix[1].models': unknown model 'resnt18' (did you mean 'resnet18'?)"),
    ('[[matrix]]\nkind = "bench"\nmodels = "torch.nn:NoSuchThing"\n',
     "has no attribute 'NoSuchThing'"),
    ('[[matrix]]\nkind = "bench"\nmodels = []\n',
     "key 'matrix[1].models': empty list"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nbatch = [4, 4]\n', "listed twice"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nbatch = true\n',
     "expected an integer >= 1, got True"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\noptions.cbam = { reduction = 8 }\n',
     "s.toml:4: key 'matrix[1].options.cbam': 'cbam' is not one of this entry's attention"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nattention = "eca"\nvariants.eca = []\n',
     "expected a non-empty list of option tables"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nexclude = [{ models = "resnet50" }]\n',
     "key 'matrix[1].exclude[1].models': invalid value 'resnet50'"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nexclude = [{ mode = "train" }]\n',
     "unknown key (did you mean 'modes'?)"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\ninclude = [{ kind = "count" }]\n',
     "cannot be set inside an include item"),
    ('[budget]\nbatch = { infer = 8 }\n[[matrix]]\nkind = "bench"\nmodels = "resnet18"\n',
     "needs both infer and train"),
    ('[budget]\nprocesses = 0\n[[matrix]]\nkind = "bench"\nmodels = "resnet18"\n',
     "s.toml:2: key 'budget.processes': expected an integer >= 1, got 0"),
    ('[budget.tpu]\nbatch = 8\n[[matrix]]\nkind = "bench"\nmodels = "resnet18"\n',
     "s.toml:1: key 'budget.tpu': unknown key"),
    ('[suite]\nclaims = "eca-cvpr202"\n[[matrix]]\nkind = "count"\nmodels = "resnet18"\n',
     "unknown claims 'eca-cvpr202'"),
    ('[bogus]\n', "s.toml:1: key 'bogus': unknown key"),
    ('[[matrix]]\nkind = "count"\nmodels = "resnet18"\nconventions = ["thop"]\n',
     "key 'matrix[1].conventions': invalid value 'thop'"),
    ('[[matrix]]\nkind = "count"\nmodels = "resnet18"\nbackward = true\n',
     "backward = true needs a counter that counts backward in conventions: torch"),
    ('[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nbackward = true\n',
     "does not apply to kind = \"bench\""),
])
def test_malformed_suites_are_rejected_in_one_line(tmp_path: Path, body: str,
                                                   fragment: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite_file(_suite(tmp_path, body))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read suite file"):
        load_suite_file(tmp_path / "missing.toml")
    with pytest.raises(SuiteError, match="not a UTF-8 text file"):
        parse_suite(b"\xff\xfe[suite]", tmp_path / "bin.toml")


def test_claims_are_found_beside_the_suite(tmp_path: Path) -> None:
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.toml").write_text('id = "mine"\n')
    path = _suite(tmp_path, '[suite]\nclaims = "mine"\n[[matrix]]\nkind = "count"\n'
                            'models = "resnet18"\n')
    assert load_suite_file(path).claims == "mine"


# --- the typed suite and its expansion ---------------------------------------------------------

def test_tiny_suite_fields_and_hash() -> None:
    path = FIXTURES / "tiny.toml"
    suite = load_suite_file(path)
    assert suite.name == "tiny" and suite.device == "cpu" and suite.claims is None
    assert suite.hash == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert suite.budget.min_time == 0.05 and suite.budget.repeats == 2
    assert [e.kind for e in suite.matrix] == ["count", "bench", "bench"]


def test_tiny_suite_expands_in_documented_order() -> None:
    specs = expand_suite(load_suite_file(FIXTURES / "tiny.toml"), "cpu")
    assert [s.label for s in specs] == [
        "count resnet18 b1",
        "count resnet18+se b1",
        "infer resnet18 b2 fp32 cpu",
        "infer resnet18+eca b2 fp32 cpu",
        "train resnet18 b2 fp32 cpu",  # resnet18+eca train is excluded
        "infer se[C=16,8x8] b2 fp32 cpu",
        "infer eca[C=16,8x8] b2 fp32 cpu",
    ]
    bench = [s for s in specs if isinstance(s, BenchSpec)]
    assert all((s.min_time, s.repeats, s.warmup) == (0.05, 2, 1) for s in bench)
    assert all(s.workload.input_shape == (3, 32, 32) for s in specs if not s.workload.is_block)


BATCHES = """\
[budget]
batch = 16
[budget.cuda]
batch = {{ infer = 64, train = 32 }}
min_time = 2.0
[budget.cpu]
repeats = 7
[[matrix]]
kind = "bench"
models = "resnet18"
modes = ["infer", "train"]
{batch}
[[matrix]]
kind = "count"
models = "resnet18"
"""


@pytest.mark.parametrize(("batch_line", "device", "expected"), [
    ("", "cpu", [16, 16]),          # [budget] batch
    ("batch = [2, 4]", "cpu", [2, 4, 2, 4]),  # the entry's batch wins over [budget]
    ("batch = [2, 4]", "cuda", [64, 32]),     # [budget.cuda] wins over everything
    ("", "cuda:1", [64, 32]),
])
def test_batch_precedence(tmp_path: Path, batch_line: str, device: str,
                          expected: list[int]) -> None:
    suite = load_suite_file(_suite(tmp_path, BATCHES.format(batch=batch_line)))
    specs = expand_suite(suite, device)
    assert [s.batch for s in specs if isinstance(s, BenchSpec)] == expected
    assert [s.batch for s in specs if isinstance(s, CountSpec)] == [1]  # counts: per image
    bench = next(s for s in specs if isinstance(s, BenchSpec))
    if device.startswith("cuda"):
        assert (bench.min_time, bench.repeats, bench.device) == (2.0, 5, device)
    else:
        assert (bench.min_time, bench.repeats) == (1.0, 7)


def test_options_variants_include_exclude_and_devices(tmp_path: Path) -> None:
    suite = load_suite_file(_suite(tmp_path, """\
[[matrix]]
kind = "bench"
models = ["resnet18", "resnet50"]
attention = ["none", "se", "eca"]
modes = ["infer", "train"]
batch = 4
options.se = { reduction = 8 }
options.eca = { gamma = 2 }
variants.eca = [{ k_size = 3 }, { k_size = 5, gamma = 1 }]
exclude = [{ models = "resnet50", modes = "train" }, { attention = "se", devices = "cuda" }]
include = [{ models = "resnet50", attention = "se", modes = "train", batch = 2 }]

[[matrix]]
kind = "count"
models = "resnet18"
devices = ["cuda"]
"""))
    cpu = [s.label for s in expand_suite(suite, "cpu")]
    assert cpu == [
        "infer resnet18 b4 fp32 cpu",
        "infer resnet18+se[reduction=8] b4 fp32 cpu",
        "infer resnet18+eca[gamma=2,k_size=3] b4 fp32 cpu",
        "infer resnet18+eca[gamma=1,k_size=5] b4 fp32 cpu",
        "train resnet18 b4 fp32 cpu",
        "train resnet18+se[reduction=8] b4 fp32 cpu",
        "train resnet18+eca[gamma=2,k_size=3] b4 fp32 cpu",
        "train resnet18+eca[gamma=1,k_size=5] b4 fp32 cpu",
        "infer resnet50 b4 fp32 cpu",
        "infer resnet50+se[reduction=8] b4 fp32 cpu",
        "infer resnet50+eca[gamma=2,k_size=3] b4 fp32 cpu",
        "infer resnet50+eca[gamma=1,k_size=5] b4 fp32 cpu",
        "train resnet50+se[reduction=8] b2 fp32 cpu",  # the include item
    ]
    cuda = expand_suite(suite, "cuda")
    assert not any("+se" in s.label and s.mode == "infer" for s in cuda
                   if isinstance(s, BenchSpec) and s.workload.model == "resnet18")
    assert [s.label for s in cuda if isinstance(s, CountSpec)] == ["count resnet18 b1"]


def test_channels_by_sizes_product_and_duplicates(tmp_path: Path) -> None:
    suite = load_suite_file(_suite(tmp_path, """\
[[matrix]]
kind = "count"
blocks = "eca"
channels = [64, 128]
sizes = ["8x8", "4x4"]

[[matrix]]
kind = "count"
blocks = "eca"
shapes = ["128x4x4", "32x2x2"]
"""))
    labels = [s.workload.label for s in expand_suite(suite, "cpu")]
    assert labels == ["eca[C=64,8x8]", "eca[C=64,4x4]", "eca[C=128,8x8]", "eca[C=128,4x4]",
                      "eca[C=32,2x2]"]  # 128x4x4 appears once


def test_count_entries_name_counters_and_backward(tmp_path: Path) -> None:
    suite = load_suite_file(_suite(tmp_path, '[[matrix]]\nkind = "count"\nmodels = "resnet18"\n'
                                             'conventions = ["thop-0.0.23", "torch"]\n'
                                             'backward = true\n'))
    spec = expand_suite(suite, "cpu")[0]
    assert isinstance(spec, CountSpec) and spec.backward and spec.counter == "thop-0.0.23"
    assert spec.to_dict()["backward"] is True and CountSpec.from_dict(spec.to_dict()) == spec
    plain = CountSpec(spec.workload)
    assert "backward" not in plain.to_dict()  # case ids of earlier files are unchanged


def test_suite_without_cases_on_a_device_is_an_error(tmp_path: Path) -> None:
    suite = load_suite_file(_suite(tmp_path, '[[matrix]]\nkind = "count"\nmodels = "resnet18"\n'
                                             'devices = "cuda"\n'))
    with pytest.raises(SuiteError, match="has no cases on cpu"):
        expand_suite(suite, "cpu")


def test_import_paths_are_accepted_as_names(tmp_path: Path) -> None:
    suite = load_suite_file(_suite(tmp_path, '[[matrix]]\nkind = "count"\n'
                                             'blocks = "torch.nn:Identity"\nshapes = "8x2x2"\n'))
    assert expand_suite(suite, "cpu")[0].workload.block == "torch.nn:Identity"


def test_available_device() -> None:
    assert available_device("cpu") == "cpu"
    assert available_device("auto") in ("cpu", "cuda")
    with pytest.raises(AttnprofError, match="unknown device 'tpu'"):
        available_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
            available_device("cuda:0")


# --- finding suites -----------------------------------------------------------------------------

def test_find_suite_by_name_path_or_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_suite("eca-paper") == SHIPPED / "eca-paper.toml"
    assert find_suite(str(FIXTURES / "tiny.toml")) == FIXTURES / "tiny.toml"
    with pytest.raises(UnknownNameError) as info:
        find_suite("eca-papr")
    assert "valid: blocks, ci-smoke, eca-paper, kernel-size" in str(info.value)
    with pytest.raises(UnknownNameError, match="does not exist"):
        find_suite("nope/missing.toml")
    # ./suites of the current folder comes first
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "eca-paper.toml").write_text(
        '[[matrix]]\nkind = "count"\nmodels = "resnet18"\n')
    monkeypatch.chdir(tmp_path)
    assert load_suite("eca-paper").name == "eca-paper"
    assert len(load_suite("eca-paper").matrix) == 1
    assert load_suite("ci-smoke").path == SHIPPED / "ci-smoke.toml"


# --- the shipped suites -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "device", "total", "counts"), [
    ("eca-paper", "cpu", 58, 18),
    ("eca-paper", "cuda", 58, 18),
    ("kernel-size", "cpu", 36, 12),
    ("blocks", "cpu", 96, 32),
    ("ci-smoke", "cpu", 18, 6),
])
def test_shipped_suites_parse_and_expand(name: str, device: str, total: int,
                                         counts: int) -> None:
    specs = expand_suite(load_suite(name), device)
    assert len(specs) == total
    assert sum(isinstance(s, CountSpec) for s in specs) == counts
    assert len({s.case_id for s in specs}) == total


def test_every_shipped_suite_is_covered() -> None:
    names = {p.stem for p in SHIPPED.glob("*.toml")}
    assert names == {"eca-paper", "kernel-size", "blocks", "ci-smoke"}


def test_eca_paper_matches_the_released_configurations() -> None:
    suite = load_suite("eca-paper")
    assert suite.claims == "eca-cvpr2020" and suite.device == "auto"
    cpu = expand_suite(suite, "cpu")
    assert all(isinstance(s, CountSpec) for s in cpu[:18])  # counts first
    rows = {(s.workload.model, s.workload.attention) for s in cpu[:18]}
    assert len(rows) == 18
    options = {(s.workload.model, s.workload.attention): dict(s.workload.options)
               for s in cpu[:18]}
    assert options["resnet50", "eca"] == {"k_size": (3, 5, 5, 7)}
    assert options["resnet101", "eca"] == options["resnet152", "eca"] == {"k_size": (3, 3, 5, 7)}
    assert options["mobilenet_v2", "se"] == {"reduction": 8}
    assert options["resnet50", "se"] == {}
    bench = [s for s in cpu if isinstance(s, BenchSpec)]
    order = list(dict.fromkeys(s.workload.model for s in bench))
    assert order == ["resnet50", "mobilenet_v2", "resnet101", "resnet152"]
    assert {(s.mode, s.batch) for s in bench} == {("infer", 2), ("train", 2)}
    assert len(bench) == 30  # every Table 3 row in both modes, ResNet-152 training included
    assert suite.budget_for("cpu").max_minutes == 14
    assert len(comparison_groups(cpu)) == 8
    cpu_rounds = pairing_settings(suite.budget_for("cpu"))
    assert (cpu_rounds.min_rounds, cpu_rounds.group_time) == (8, 40.0)
    cuda = [s for s in expand_suite(suite, "cuda") if isinstance(s, BenchSpec)]
    assert {s.batch for s in cuda} == {128} and len(cuda) == 30
    assert pairing_settings(suite.budget_for("cuda")).target_half_width == 0.02


def test_pairing_keys_in_a_budget(tmp_path: Path) -> None:
    head = '[budget]\nblock_time = 0.1\nmin_rounds = 6\ngroup_time = 5\n'
    matrix = '[[matrix]]\nkind = "bench"\nmodels = "resnet18"\nattention = ["none", "se"]\n'
    suite = load_suite_file(_suite(tmp_path, head + '[budget.cpu]\npaired = false\n' + matrix))
    settings = pairing_settings(suite.budget_for("cuda"))
    assert (settings.block_time, settings.min_rounds, settings.group_time) == (0.1, 6, 5.0)
    assert suite.budget_for("cpu").paired is False and suite.budget_for("cuda").paired is None
    bad = _suite(tmp_path, '[budget]\nmin_rounds = 10\n[budget.cuda]\nmax_rounds = 5\n' + matrix,
                 "bad.toml")
    with pytest.raises(SuiteError, match=r"bad.toml:3: key 'budget.cuda': .*min_rounds <= "):
        load_suite_file(bad)
    with pytest.raises(SuiteError, match=r"key 'budget.paired': expected true or false"):
        load_suite_file(_suite(tmp_path, '[budget]\npaired = "yes"\n' + matrix, "b2.toml"))


def test_groups_gather_the_cases_that_differ_only_in_attention() -> None:
    specs = expand_suite(load_suite("eca-paper"), "cpu")
    groups = comparison_groups(specs)
    first = [specs[i] for i in groups[0]]
    assert [s.workload.attention for s in first] == [None, "se", "cbam", "gc", "eca"]
    assert {(s.workload.model, s.mode) for s in first} == {("resnet50", "infer")}
    assert all(group_key(s) is None for s in specs if isinstance(s, (CountSpec, BreakdownSpec)))
    blocks = comparison_groups(expand_suite(load_suite("blocks"), "cpu"))
    assert len(blocks) == 16 and all(len(g) == 4 for g in blocks)


def test_kernel_size_suite_sweeps_k() -> None:
    specs = expand_suite(load_suite("kernel-size"), "cpu")
    ks = [dict(s.workload.options).get("k_size") for s in specs
          if isinstance(s, CountSpec) and s.workload.model == "resnet50"]
    assert ks == [None, 3, 5, 7, 9, "adaptive"]
