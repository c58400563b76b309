"""Mutation score of the modules where a silent bug costs most (`make mutate`).

    .venv/bin/python -m bench.mutate                   # fresh run, then the report
    .venv/bin/python -m bench.mutate --max-children 1  # gentler on a shared machine
    .venv/bin/python -m bench.mutate --report-only     # re-read mutants/, rewrite the report

PyPI mutmut 3 (`scripts/bootstrap.sh mutmut`) mutates the modules pyproject.toml's
[tool.mutmut] `only_mutate` lists and runs, for each mutant, the in-process tests that
reach the mutated function (the selection is in the same section). Its verdicts are read
from the `mutants/<module>.py.meta` files it writes; bench/results/mutation.md gets, per
module, mutants killed / timed out / survived / without a test and the score against the
target (≥ 90 % killed). Every surviving mutant is listed with its change and the reason it
changes no behaviour, from bench/mutation_equivalents.toml, or marked unexplained. The exit
code is non-zero when a module misses the target or a survivor is unexplained.

Each explanation has a kind: `equivalent` (no input changes what the code does),
`unreachable` (no input reaches the changed line) or `cosmetic` (only a name a debugger
shows changes). Anything else is a missing test, not an explanation.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "mutation.md"
EQUIVALENTS = REPO / "bench" / "mutation_equivalents.toml"
MUTANTS = REPO / "mutants"
RUN_INFO = MUTANTS / "bench-mutate.json"  # wall time of the last run, for --report-only
MUTMUT = REPO / ".venv" / "bin" / "mutmut"
TARGET = 90.0  # per cent of each module's mutants killed (a timeout counts as killed)
KINDS = ("equivalent", "unreachable", "cosmetic")

# mutmut 3.8's exit code -> verdict (mutmut/stats.py); anything else is "suspicious".
STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught by type check",
    None: "not checked",
}


@dataclass
class Mutant:
    name: str  # mutmut's: module.x_function__mutmut_N or module.xǁClassǁmethod__mutmut_N
    status: str
    line: int = 0
    before: str = ""
    after: str = ""


@dataclass
class Module:
    path: str  # oie_core/tokens.py
    mutants: list[Mutant] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    def count(self, *statuses: str) -> int:
        return sum(1 for m in self.mutants if m.status in statuses)

    @property
    def score(self) -> float:
        return 100.0 * self.count("killed", "timeout") / len(self.mutants) if self.mutants else 0.0

    @property
    def surviving(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status in ("survived", "no tests")]


def mutmut_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config


def run_mutmut(max_children: int, fresh: bool) -> float:
    """`mutmut run` from the repository root; its wall time in seconds."""
    if not MUTMUT.exists():
        raise SystemExit("mutmut is not installed: run `scripts/bootstrap.sh mutmut` first")
    if fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)  # cached verdicts would hide what a changed test now kills
    started = time.monotonic()
    code = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(max_children)], cwd=REPO, check=False
    ).returncode
    wall = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"mutmut run failed (exit {code})")
    RUN_INFO.write_text(
        json.dumps(
            {
                "wall_s": round(wall, 1),
                "max_children": max_children,
                "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "load": round(os.getloadavg()[0], 2),
            }
        )
    )
    return wall


def _function_sources(path: str, names: set[str]) -> dict[str, list[str]]:
    """The generated functions `names` as written in mutants/<path>, from mutmut's index
    of their line spans (mutants/<path>.spans)."""
    spans = json.loads((MUTANTS / (path + ".spans")).read_text())["spans"]
    lines = (MUTANTS / path).read_text().splitlines()
    return {n: lines[spans[n][0] - 1 : spans[n][1]] for n in names if n in spans}


def _first_lines(path: str) -> dict[str, int]:
    """Source line of each function mutmut can mutate, keyed like its mangled names."""
    tree = ast.parse((REPO / path).read_text())
    out: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[f"x_{node.name}"] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
    return out


def describe(module: Module) -> None:
    """Fill in the source line and the changed code of each surviving mutant."""
    survivors = module.surviving
    if not survivors:
        return
    prefix = module.name + "."
    wanted: set[str] = set()
    for m in survivors:
        local = m.name.removeprefix(prefix)
        wanted |= {local, local.partition("__mutmut_")[0] + "__mutmut_orig"}
    sources = _function_sources(module.path, wanted)
    first = _first_lines(module.path)
    for m in survivors:
        local = m.name.removeprefix(prefix)
        mangled = local.partition("__mutmut_")[0]
        orig = sources.get(mangled + "__mutmut_orig")
        mutated = sources.get(local)
        if orig is None or mutated is None:
            continue
        mutated = [x.replace(f"def {local}(", f"def {mangled}__mutmut_orig(") for x in mutated]
        def_at = next(i for i, x in enumerate(orig) if x.lstrip().startswith("def "))
        matcher = difflib.SequenceMatcher(a=orig, b=mutated, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag != "equal":
                m.line = first.get(mangled, 0) + a0 - def_at
                m.before = " ".join(x.strip() for x in orig[a0:a1])
                m.after = " ".join(x.strip() for x in mutated[b0:b1]) or "(line removed)"
                break


def read_results(paths: list[str]) -> list[Module]:
    modules = []
    for path in paths:
        meta_path = MUTANTS / (path + ".meta")
        if not meta_path.exists():
            raise SystemExit(f"no mutmut results for {path}: run without --report-only first")
        meta = json.loads(meta_path.read_text())
        module = Module(path)
        for name, code in sorted(meta["exit_code_by_key"].items(), key=_natural):
            module.mutants.append(Mutant(name, STATUS_BY_EXIT_CODE.get(code, "suspicious")))
        describe(module)
        modules.append(module)
    return modules


def _natural(item: tuple[str, Any]) -> tuple[str, int]:
    head, _, number = item[0].rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def not_mutated(path: str) -> list[str]:
    """Functions mutmut 3 leaves alone: it skips decorated ones (other than a lone
    staticmethod/classmethod), e.g. the lru_cache'd lookups."""
    tree = ast.parse((REPO / path).read_text())
    found = []
    defs: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.append(("", node))
        elif isinstance(node, ast.ClassDef):
            defs += [
                (node.name + ".", item)
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    for owner, fn in defs:
        names = [ast.unparse(d) for d in fn.decorator_list]
        if names and names not in (["staticmethod"], ["classmethod"]):
            found.append(f"`{owner}{fn.name}` (@{', @'.join(names)})")
    return found


def load_equivalents() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = tomllib.loads(EQUIVALENTS.read_text())
    return data


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report(modules: list[Module], info: dict[str, Any], tests: int) -> tuple[str, list[str]]:
    """The markdown report and the list of problems (missed targets, unexplained survivors,
    explanations that no longer match their mutant)."""
    equivalents = load_equivalents()
    problems: list[str] = []
    rows = []
    for mod in modules:
        explained = sum(1 for m in mod.surviving if m.name in equivalents)
        met = mod.score >= TARGET
        if not met:
            problems.append(f"{mod.path}: {mod.score:.1f} % killed, target {TARGET:.0f} %")
        rows.append(
            f"| `{mod.path}` | {len(mod.mutants)} | {mod.count('killed')} | "
            f"{mod.count('timeout')} | {mod.count('survived')} | {mod.count('no tests')} | "
            f"{explained} | {mod.score:.1f} % | ≥ {TARGET:.0f} % | {'met' if met else 'NOT met'} |"
        )
    total = sum(len(m.mutants) for m in modules)
    killed = sum(m.count("killed", "timeout") for m in modules)
    other = [m for mod in modules for m in mod.mutants if m.status not in _COUNTED]
    for m in other:
        problems.append(f"{m.name}: {m.status}")
    lines = [
        "# Mutation score",
        "",
        f"`make mutate` (`python -m bench.mutate`), run finished {info.get('finished', '?')}; "
        f"{os.cpu_count()} cores ({platform.machine()}), load average {info.get('load', '?')}; "
        f"mutmut {_version()} with {info.get('max_children', '?')} worker(s), "
        f"wall time {_minutes(info.get('wall_s'))}; {tests} in-process test files "
        "(pyproject.toml `[tool.mutmut]`).",
        "",
        "| module | mutants | killed | timeout | survived | no tests | explained | score "
        "| target | |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"All modules: {killed} of {total} mutants killed ({100.0 * killed / total:.1f} %). "
        "Score = (killed + timeout) / mutants: a surviving mutant counts against its module "
        "even when it is equivalent. *explained* = survivors listed below with the reason "
        "they need no test (bench/mutation_equivalents.toml).",
        "",
        "## Surviving mutants",
        "",
        "`mutmut show <name>` prints the full diff.",
        "",
    ]
    for mod in modules:
        if not mod.surviving:
            continue
        lines += [f"### `{mod.path}`", "", "| mutant | line | change | why it survives |"]
        lines.append("|---|---|---|---|")
        for m in mod.surviving:
            entry = equivalents.get(m.name)
            short = m.name.removeprefix(mod.name + ".")
            change = f"`{_cell(m.before)}` → `{_cell(m.after)}`" if m.before else "?"
            if entry is None:
                why = f"**unexplained** ({m.status})"
                problems.append(f"{m.name}: {m.status}, unexplained")
            elif entry.get("mutation", "") not in m.after:
                why = f"**stale explanation**: expected `{_cell(entry.get('mutation', ''))}`"
                problems.append(f"{m.name}: the recorded explanation is for another change")
            elif entry.get("kind") not in KINDS:
                why = f"**unknown kind** `{entry.get('kind')}`: {_cell(entry.get('why', ''))}"
                problems.append(f"{m.name}: kind must be one of {', '.join(KINDS)}")
            else:
                why = f"{entry['kind']}: {_cell(entry['why'])}"
            lines.append(f"| `{short}` | {m.line} | {change} | {why} |")
        lines.append("")
    surviving = {m.name for mod in modules for m in mod.surviving}
    unused = sorted(set(equivalents) - surviving)
    if unused:
        lines += ["Explanations without a surviving mutant (killed now, or renumbered):", ""]
        lines += [f"- `{name}`" for name in unused]
        lines.append("")
    lines += [
        "## Not mutated",
        "",
        "mutmut 3 mutates function and method bodies only: module-level constants (the "
        "regular expressions, limits and allow-lists) are not mutated, and neither are "
        "decorated functions, so this score says nothing about them: their checks are the "
        "ordinary tests only. Decorated functions in these modules:",
        "",
    ]
    for mod in modules:
        skipped = not_mutated(mod.path)
        lines.append(f"- `{mod.path}`: {', '.join(skipped) if skipped else 'none'}")
    lines.append("")
    return "\n".join(lines), problems


_COUNTED = ("killed", "timeout", "survived", "no tests")


def _version() -> str:
    try:
        return metadata.version("mutmut")
    except metadata.PackageNotFoundError:
        return "?"


def _minutes(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--max-children", type=int, default=2, help="parallel mutant runs")
    ap.add_argument(
        "--report-only", action="store_true", help="rewrite the report from mutants/ as it is"
    )
    ap.add_argument(
        "--keep", action="store_true", help="reuse mutmut's cached verdicts in mutants/"
    )
    args = ap.parse_args(argv)
    config = mutmut_config()
    if not args.report_only:
        run_mutmut(args.max_children, fresh=not args.keep)
    info: dict[str, Any] = json.loads(RUN_INFO.read_text()) if RUN_INFO.exists() else {}
    modules = read_results(list(config["only_mutate"]))
    tests = sum(1 for a in config["pytest_add_cli_args_test_selection"] if a.endswith(".py"))
    text, problems = report(modules, info, tests)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    for mod in modules:
        print(f"{mod.path:36} {len(mod.mutants):5} mutants  {mod.score:5.1f} % killed")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
