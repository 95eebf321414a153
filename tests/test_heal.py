"""`goperf-scaffold update --heal FILE…`: the divergence the trackers describe, and its cure.

A file loses a template change (a merge from an old branch), the template stops changing it,
`update` reports nothing for it and `.copier-answers.yml` says the project is current; `diff`
shows it, `update --heal` brings the template's change back and keeps the team's other edits.
Real Copier, real git, the template of tests/_helpers_drift_template.py; no network.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from scaffolder import SilentProgress, diff_service, update_service
from scaffolder._heal import HEAL_LABELS, _healed
from scaffolder._template_render import TemplateRender
from scaffolder.errors import ExitCode

from ._helpers_drift_template import (
    MAKEFILE_1_1,
    build_drift_template,
    new_drift_project,
    release_drift_version,
)
from ._helpers_env import assert_one_line_error, isolate_user_dirs, run_cli
from ._helpers_template_repo import commit_all, git, init_repo

TEAM_LINT = "\tgo vet ./... && gofmt -l ."


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def diverged_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated at 1.0.0, the team's lint edit, updated to 1.1.0 (-race arrives), the -race
    lost in a merge, then updated to 1.2.0 — which does not touch the Makefile. Built once."""
    root = tmp_path_factory.mktemp("diverged")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_user_dirs(monkeypatch, root)
        template = build_drift_template(root / "drift-template", up_to="1.0.0")
        project = new_drift_project(template, root / "demo")
        makefile = project / "Makefile"
        _edit(makefile, "\tgo vet ./...", TEAM_LINT)
        commit_all(project, "lint also checks formatting")
        release_drift_version(template, "1.1.0")
        update_service(project, tidy=False, progress=SilentProgress())
        commit_all(project, "template 1.1.0")
        assert "go test -race ./..." in makefile.read_text()
        _edit(makefile, "go test -race ./...", "go test ./...")
        commit_all(project, "merge an old branch (loses -race)")
        release_drift_version(template, "1.2.0")
        result = update_service(project, tidy=False, progress=SilentProgress())
        assert "Makefile" not in result.changed_files  # the update says nothing about it
        commit_all(project, "template 1.2.0")
    return project


@pytest.fixture
def diverged(tmp_path: Path, diverged_once: Path) -> Path:
    """A copy of the diverged project (with its git history) for one test to change."""
    return Path(shutil.copytree(diverged_once, tmp_path / "demo", symlinks=True))


def test_diff_shows_the_diverged_file_that_update_never_heals(diverged: Path) -> None:
    result = diff_service(diverged)

    assert result.template_version == "1.2.0"
    assert [(d.file, d.status) for d in result.files] == [("Makefile", "modified")]


def test_heal_brings_the_template_change_back_and_keeps_the_team_edit(
    tmp_path: Path, diverged: Path
) -> None:
    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "M Makefile" in completed.stdout
    makefile = (diverged / "Makefile").read_text()
    assert makefile == MAKEFILE_1_1.replace("\tgo vet ./...", TEAM_LINT)
    # A reviewable, uncommitted change of the named file only.
    assert git("status", "--porcelain", cwd=diverged).splitlines() == [" M Makefile"]
    assert "+\tgo test -race ./..." in git("diff", cwd=diverged)
    # What is left of the drift is the team's own edit.
    (drift,) = diff_service(diverged).files
    assert drift.file == "Makefile"


def test_heal_marks_a_conflict_where_the_team_and_the_template_disagree(
    tmp_path: Path, diverged: Path
) -> None:
    _edit(diverged / "Makefile", "go test ./...", "go test -v ./...")
    commit_all(diverged, "verbose tests")

    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    assert completed.returncode == ExitCode.CONFLICTS
    assert "conflicts remain in Makefile" in assert_one_line_error(completed.stderr)
    assert "C Makefile" in completed.stdout
    makefile = (diverged / "Makefile").read_text()
    assert "<<<<<<< before healing\n\tgo test -v ./...\n" in makefile
    assert "\tgo test -race ./...\n>>>>>>> after healing\n" in makefile
    assert TEAM_LINT in makefile  # the team's other edit, outside the conflict, is kept


def test_heal_restores_a_deleted_file(tmp_path: Path, diverged: Path) -> None:
    (diverged / "docs" / "guide.md").unlink()
    commit_all(diverged, "guide removed by mistake")

    completed = run_cli(["update", str(diverged), "--heal", "docs/guide.md"], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "## Test" in (diverged / "docs" / "guide.md").read_text()


def _assert_refused(
    completed: subprocess.CompletedProcess[str], project: Path, before: str, code: ExitCode
) -> str:
    assert completed.returncode == code, completed.stderr
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project) == before
    return assert_one_line_error(completed.stderr)


def test_heal_refuses_a_dirty_project(tmp_path: Path, diverged: Path) -> None:
    (diverged / "main.go").write_text("package main\n")
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.NOT_UPDATABLE)
    assert "uncommitted" in error
    assert "go test ./..." in (diverged / "Makefile").read_text()  # not healed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nowhere.go", "not a file the template generates"),
        ("cmd/demo/default.pgo", "leaves this file to the team"),
        (".copier-answers.yml", "the answers file is the record"),
        ("../outside.txt", "not inside the project"),
    ],
)
def test_heal_refuses_files_it_cannot_heal(
    tmp_path: Path, diverged: Path, name: str, expected: str
) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", str(diverged), "--heal", "Makefile", name], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.USAGE)
    assert expected in error
    assert "go test ./..." in (diverged / "Makefile").read_text()  # nothing written at all


def test_heal_refuses_options_of_a_version_change(tmp_path: Path, diverged: Path) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(
        ["update", str(diverged), "--heal", "Makefile", "--vcs-ref", "1.1.0"], cwd=tmp_path
    )

    assert "--vcs-ref" in _assert_refused(completed, diverged, before, ExitCode.USAGE)


def test_heal_refuses_a_folder_that_is_not_a_generated_project(tmp_path: Path) -> None:
    plain = init_repo(tmp_path / "plain")
    (plain / "Makefile").write_text("all:\n")
    commit_all(plain, "hand-written")

    completed = run_cli(["update", str(plain), "--heal", "Makefile"], cwd=tmp_path)

    _assert_refused(completed, plain, "", ExitCode.NOT_UPDATABLE)


def test_a_project_named_after_heal_files_is_refused_with_the_order_to_use(
    tmp_path: Path, diverged: Path
) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", "--heal", "Makefile", str(diverged)], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.USAGE)
    assert "update PATH --heal FILE" in error


# --- the merge itself: every path of `_healed`, team-only lines, template-only lines, both -----
#
# git merge-file on bytes, no template rendered: `generated` is a stand-in holding the file as
# the template generated it when the project was made (None: no history).

CONFLICT_OPEN, CONFLICT_CLOSE = (f"<<<<<<< {HEAL_LABELS[0]}", f">>>>>>> {HEAL_LABELS[1]}")


def _text(*lines: str) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


def _generated(tmp_path: Path, content: bytes | None) -> TemplateRender:
    """The template's render at generation: holding `f` with `content` (None: no such file)."""
    root = Path(tempfile.mkdtemp(prefix="generated-", dir=tmp_path))
    if content is not None:
        (root / "f").write_bytes(content)
    return TemplateRender(
        root=root,
        version="1.0.0",
        files=frozenset({"f"} if content is not None else ()),
        team_owned=lambda _name: False,
    )


# (ours: the team's file, theirs: the template's, the healed file) — merged without conflict.
FALLBACK_MERGES = {
    "team-only line stays": (("a", "team", "b"), ("a", "b"), ("a", "team", "b")),
    "team-only lines at both ends stay": (
        ("t1", "a", "b", "t2"),
        ("a", "b"),
        ("t1", "a", "b", "t2"),
    ),
    "template-only line comes back": (("a", "b"), ("a", "b", "c"), ("a", "b", "c")),
    "template-only lines come back everywhere": (("b",), ("a", "b", "c"), ("a", "b", "c")),
    "both: the team's line stays, the template's comes back": (
        ("a", "team", "b"),
        ("a", "b", "c"),
        ("a", "team", "b", "c"),
    ),
    "both, apart": (("team", "a", "b"), ("a", "b", "c"), ("team", "a", "b", "c")),
    "nothing shared, team file empty": ((), ("a", "b"), ("a", "b")),
    "the same file": (("a", "b"), ("a", "b"), ("a", "b")),
}


@pytest.mark.parametrize("generated_holds", ["no history", "no such file", "unchanged since"])
@pytest.mark.parametrize("case", list(FALLBACK_MERGES), ids=str)
def test_the_fallback_merge_keeps_team_lines_and_brings_template_lines_back(
    tmp_path: Path, case: str, generated_holds: str
) -> None:
    ours, theirs, expected = FALLBACK_MERGES[case]
    generated = {
        "no history": None,
        "no such file": _generated(tmp_path, None),
        # The template never changed the file since generation: its base says nothing.
        "unchanged since": _generated(tmp_path, _text(*theirs)),
    }[generated_holds]

    healed, conflicted = _healed(_text(*ours), _text(*theirs), generated, "f")

    assert healed == _text(*expected)
    assert not conflicted


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        # The team changed a template line: both versions, marked, never one silently.
        (
            ("a", "team", "c"),
            ("a", "b", "c"),
            ("a", CONFLICT_OPEN, "team", "=======", "b", CONFLICT_CLOSE, "c"),
        ),
        # Both added a line at the same place.
        (
            ("team", "a"),
            ("tmpl", "a"),
            (CONFLICT_OPEN, "team", "=======", "tmpl", CONFLICT_CLOSE, "a"),
        ),
        # Nothing shared at all.
        (("x",), ("y",), (CONFLICT_OPEN, "x", "=======", "y", CONFLICT_CLOSE)),
    ],
    ids=["team changed a template line", "both added at one place", "nothing shared"],
)
def test_the_fallback_merge_marks_lines_that_differ_on_both_sides(
    ours: tuple[str, ...], theirs: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    healed, conflicted = _healed(_text(*ours), _text(*theirs), None, "f")

    assert healed == _text(*expected)
    assert conflicted


def _sides(merged: bytes) -> tuple[list[bytes], list[bytes]]:
    """The merged lines with every conflict resolved to the team's side, and to the template's."""
    ours: list[bytes] = []
    theirs: list[bytes] = []
    side = "both"
    for line in merged.splitlines():
        text = line.decode()
        if text == CONFLICT_OPEN:
            side = "ours"
        elif text == "=======" and side == "ours":
            side = "theirs"
        elif text == CONFLICT_CLOSE and side == "theirs":
            side = "both"
        else:
            if side in ("both", "ours"):
                ours.append(line)
            if side in ("both", "theirs"):
                theirs.append(line)
    return ours, theirs


def _in_order(lines: list[bytes], within: list[bytes]) -> bool:
    remaining = iter(within)
    return all(any(line == other for other in remaining) for line in lines)


def test_the_fallback_merge_never_drops_a_line_of_either_side_silently() -> None:
    """Random small files: every team line and every template line is in the healed file, in
    order — in clean text, or on its side of a conflict; a missing final newline included."""
    rng = random.Random(22)
    alphabet = ["a", "b", "c", "team", ""]
    for _ in range(150):
        ours, theirs = (_text(*rng.choices(alphabet, k=rng.randint(0, 6))) for _side in range(2))
        if rng.random() < 0.25:
            ours = ours.rstrip(b"\n")
        if rng.random() < 0.25:
            theirs = theirs.rstrip(b"\n")

        healed, conflicted = _healed(ours, theirs, None, "f")

        as_ours, as_theirs = _sides(healed)
        case = f"team {ours!r}, template {theirs!r}: healed {healed!r}"
        assert _in_order(ours.splitlines(), as_ours), case
        assert _in_order(theirs.splitlines(), as_theirs), case
        assert conflicted or as_ours == as_theirs, case  # no markers without a conflict


# (base: the file as generated, ours, theirs, healed) — the template changed it since.
GENERATED_BASE_MERGES = {
    "team-only line stays": (
        ("a", "b", "c", "d"),
        ("team", "a", "b", "c", "d"),
        ("a", "b", "c", "d2"),
        ("team", "a", "b", "c", "d2"),
    ),
    "template change comes back": (("a", "b"), ("a", "b"), ("a", "b", "c"), ("a", "b", "c")),
    "both": (
        ("a", "b", "c", "d"),
        ("a", "team", "b", "c", "d"),
        ("a", "b", "c", "d", "e"),
        ("a", "team", "b", "c", "d", "e"),
    ),
    # What the fallback could not tell: the team removed a line the template did not change.
    "a line the team removed stays removed": (
        ("a", "b", "c", "d"),
        ("a", "b", "d"),
        ("a2", "b", "c", "d"),
        ("a2", "b", "d"),
    ),
}


@pytest.mark.parametrize("case", list(GENERATED_BASE_MERGES), ids=str)
def test_the_merge_from_the_generated_version_keeps_each_sides_changes(
    tmp_path: Path, case: str
) -> None:
    base, ours, theirs, expected = GENERATED_BASE_MERGES[case]

    healed, conflicted = _healed(
        _text(*ours), _text(*theirs), _generated(tmp_path, _text(*base)), "f"
    )

    assert healed == _text(*expected)
    assert not conflicted


def test_the_merge_from_the_generated_version_marks_a_line_both_changed(tmp_path: Path) -> None:
    generated = _generated(tmp_path, _text("a", "b", "c"))

    healed, conflicted = _healed(_text("a", "team", "c"), _text("a", "tmpl", "c"), generated, "f")

    assert healed == _text("a", CONFLICT_OPEN, "team", "=======", "tmpl", CONFLICT_CLOSE, "c")
    assert conflicted


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(None, b"template\n"), (b"team\0binary", b"template\n"), (b"team\n", b"\xff\xfe binary")],
    ids=["missing file", "binary team file", "binary template file"],
)
def test_a_missing_or_binary_file_gets_the_templates_content(
    ours: bytes | None, theirs: bytes
) -> None:
    assert _healed(ours, theirs, None, "f") == (theirs, False)


def test_heal_of_a_file_the_template_never_changed_keeps_the_teams_line(
    tmp_path: Path, diverged: Path
) -> None:
    """README.md is the same in 1.0.0 and 1.2.0: heal falls back to the lines both share.

    The team dropped the template's last line and added one of its own (team a/team/b,
    template a/b/c): the template's line comes back and the team's stays."""
    readme = diverged / "README.md"
    assert readme.read_text() == "# demo\n\nGenerated from the drift template.\n"
    readme.write_text("# demo\nOwned by the payments team.\n\n")
    commit_all(diverged, "README: the owners, not the generator")

    completed = run_cli(["update", str(diverged), "--heal", "README.md"], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "M README.md" in completed.stdout
    assert readme.read_text() == (
        "# demo\nOwned by the payments team.\n\nGenerated from the drift template.\n"
    )
