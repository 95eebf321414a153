"""README "For platform teams": every command of both blocks, run line by line as written, with
the real template — host it on a (`file://`) git server, set the org config, generate a
service, release a template change, `fleet status`, `fleet update` (go build + go test)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from ._helpers_env import isolate_user_dirs, require_go
from ._helpers_real_template import snapshot_template
from ._helpers_teams import RepoState, go_caches
from ._helpers_template_repo import GIT_TEST_IDENTITY, git
from .conftest import REPO_ROOT

pytestmark = pytest.mark.go

_SECTION = re.compile(r"^## For platform teams\n(.*?)(?=^## )", re.MULTILINE | re.DOTALL)
_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"^([A-Z_]+)=")
_EXPECTED_EXIT = re.compile(r"#.*exit code (\d+)")


def readme_blocks() -> list[str]:
    section = _SECTION.search((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert section, "README.md has no '## For platform teams' section"
    blocks = _SH_BLOCK.findall(section.group(1))
    assert len(blocks) == 2, "the section has a setup block and a release block"
    return blocks


def run_block(block: str, cwd: Path, env: dict[str, str]) -> list[tuple[str, int, str]]:
    """Run each command line of a README block in one bash, as written; the test's `env` gives
    the variables the block assigns at its top. Returns (line, exit code, output) per command."""
    script = ["set -u"]
    commands: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGNMENT.match(stripped)
        if match and match.group(1) in env:
            continue  # e.g. TEMPLATE_URL=https://git.example.com/...: ours is a local server
        index = len(commands)
        commands.append(stripped)
        script.append(f"echo '@@begin {index}'; {stripped}\necho \"@@end {index} $? $SECONDS\"")
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=cwd, env=env, input="", capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    outputs = re.split(r"^@@begin \d+\n", completed.stdout, flags=re.MULTILINE)[1:]
    results = []
    for index, command in enumerate(commands):
        assert index < len(outputs), f"never ran: {command}\n{completed.stdout}{completed.stderr}"
        body, _, end = outputs[index].rpartition("@@end ")
        results.append((command, int(end.split()[1]), body))
    print(
        "\n".join(
            f"{outputs[i].rpartition('@@end ')[2].split()[2]:>5}s {c}"
            for i, c in enumerate(commands)
        )
    )
    for command, code, body in results:
        expected = _EXPECTED_EXIT.search(command)
        want = int(expected.group(1)) if expected else 0
        assert code == want, f"`{command}` exited {code}, expected {want}\n{body}{completed.stderr}"
    return results


def answers_of(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_platform_team_flow_from_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_go()
    isolate_user_dirs(monkeypatch, tmp_path)
    setup, release = readme_blocks()
    # Upstream at a release: this repository's template as is, its version without `.devN`.
    upstream = snapshot_template(tmp_path / "upstream")
    pyproject_text = (REPO_ROOT / "pyproject.toml").read_text()
    current = re.search(r'^version = "(.*)"$', pyproject_text, re.M)
    assert current, "pyproject.toml has a version line"
    version = Version(Version(current[1]).base_version)
    (upstream.root / "pyproject.toml").write_text(
        pyproject_text.replace(current[0], f'version = "{version}"')
    )
    upstream.release(str(version), tag=False)
    server = tmp_path / "git.example.com" / "goperf-scaffold.git"
    git("init", "--quiet", "--bare", str(server), cwd=tmp_path)
    services = tmp_path / "services"
    work = tmp_path / "platform"
    work.mkdir()
    next_version = f"{version.major}.{version.minor + 1}.0"
    env = {
        **os.environ,
        **GIT_TEST_IDENTITY,
        "HOME": str(tmp_path / "home"),
        **go_caches(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "UPSTREAM": upstream.root.as_uri(),
        "TEMPLATE_URL": server.as_uri(),
        "SERVICES": str(services),
        "NEXT": next_version,
    }

    run_block(setup, work, env)

    answers = answers_of(services / "orders")
    assert (answers["_src_path"], answers["_commit"]) == (server.as_uri(), str(version))
    before = RepoState.of(services / "orders")

    # The template change the platform team releases: a README section and a version bump.
    clone = work / "goperf-scaffold"
    readme = clone / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\n## On call\n\nPage the platform team.\n")
    pyproject = clone / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f'version = "{version}"', f'version = "{next_version}"')
    )

    results = run_block(release, work, env)

    status = next(body for command, _, body in results if "fleet status" in command)
    # ... BEHIND 1, not DIRTY, no CONFLICTS, and no file DRIFTED from the recorded version.
    assert re.search(rf"^orders\s.*{version}\s+{next_version}\s+1\s+no\s+-\s+0$", status, re.M)
    update = next(body for command, _, body in results if "fleet update" in command)
    branch = f"template/{next_version}"
    assert f"orders: updated {version} -> {next_version} on branch {branch}" in update
    service = services / "orders"
    after = RepoState.of(service)
    assert (after.branch, after.head, after.status) == (before.branch, before.head, before.status)
    assert branch in after.branches
    assert "Page the platform team." in git("show", f"{branch}:README.md", cwd=service)
