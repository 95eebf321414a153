"""The REAL template at versions N, N+1 and N+2, and the team edits made to a project between.

N is a snapshot of this repository's working tree (copier.yml, template/, includes/ — not git
HEAD), taken when the tests run, so the proofs follow the template as it grows. N+1 and N+2 are
made from that snapshot by small, realistic template changes:

N+1  a new question with a default (`service_owner`) rendered into README.md; a changed Makefile
     target (`test` shuffles); internal/server/middleware.go renamed to middleware_chain.go with
     the version-gated `after` migration that docs/updating.md recommends (3-way-merges the
     user's edits of the old file into the new one); a new function in a Go file
     (internal/httpclient/httpclient.go).
N+2  middleware_chain.go changes again, README.md and the Makefile gain a section/target.

Versions are above the installed package's version (installed 0.1.0 -> N=0.2.0, N+1=0.3.0,
N+2=0.4.0): `update` refreshes the per-user mirror from the installed package first, which tags
the live template with the installed version; it must never become the update target.

The edits a team makes after generating at N: a handler file in internal/server registered in
routes.go (an edit of a template-owned file) plus its test, a changed README title, an extra
file, a constant added to middleware.go (the file N+1 renames) and — for the conflict case only
— the same Makefile line that N+1 changes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.version import Version

from scaffolder._package import TEMPLATE_ENTRIES

from ._helpers_template_repo import TemplateRepo, commit_all
from .conftest import REPO_ROOT

# --- the template changes ----------------------------------------------------------------------

OLD_MIDDLEWARE = "internal/server/middleware.go"
NEW_MIDDLEWARE = "internal/server/middleware_chain.go"
GO_CHANGE_FILE = "internal/httpclient/httpclient.go"
NEW_QUESTION = "service_owner"
NEW_QUESTION_DEFAULT = "platform-team"

_NEW_QUESTION_YAML = f"""
# Added in the next version: asked on update, with a default (rule 1 of docs/updating.md).
{NEW_QUESTION}:
  type: str
  help: Team that owns the service (shown in README.md)
  default: {NEW_QUESTION_DEFAULT}
"""

# The rename migration exactly as docs/updating.md recommends (rule 4).
_RENAME_MIGRATION_ITEM = r"""- version: "@VERSION@"
  command: |
    set -e
    old=@OLD@ new=@NEW@
    if git cat-file -e "HEAD:./$old" 2>/dev/null && [ -f "$new" ]; then
      git show "HEAD:./$old" > "$new.ours"
      git -C "{{ _copier_conf.src_path }}" show "{{ _version_from }}:template/$old" > "$new.base"
      git merge-file -L "before updating" -L "last update" -L "after updating" \
        "$new.ours" "$new.base" "$new" || true
      mv "$new.ours" "$new"
      rm -f "$new.base"
    fi
"""

README_OWNER_SECTION = (
    "\n## Ownership\n\nOwned by `{{ service_owner }}`; ask them before changing the API surface.\n"
)
README_OWNER_RENDERED = f"Owned by `{NEW_QUESTION_DEFAULT}`; ask them before changing"
README_SUPPORT_SECTION = "\n## Support\n\nOpen an issue in the service's repository.\n"
MAKEFILE_TEST_FLAG = "-shuffle=on"
MAKEFILE_COVER_TARGET = "\n.PHONY: cover\ncover: ## Test coverage summary\n\tgo test -cover ./...\n"
GO_CHANGE_FUNC = "func UserAgentFor(service string) string"
_GO_CHANGE_SNIPPET = f"""
// UserAgentFor is the User-Agent value a service built from this template sends upstream.
{GO_CHANGE_FUNC} {{
	return service + " (goperf-scaffold)"
}}
"""
MIDDLEWARE_N2_COMMENT = "// The middleware chain: recoverPanics is the outermost layer."

# The `test` target's recipe line in the Makefile: `go test ...`.
# The `test:` target's `go test` line, past any lines before it (a Jinja-guarded note).
_MAKEFILE_TEST_RECIPE = re.compile(r"(?m)^(test:[^\n]*\n(?:(?!\tgo test )[^\n]*\n)*?\t)go test ")


def release_versions(installed: str) -> tuple[str, str, str]:
    """N, N+1, N+2: the three minor versions after the installed package's version."""
    base = Version(installed)
    return tuple(f"{base.major}.{base.minor + step}.0" for step in (1, 2, 3))  # type: ignore[return-value]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _must_exist(path: Path, why: str) -> Path:
    if not path.is_file():
        raise AssertionError(
            f"the real template no longer has {path} ({why}); adapt tests/_helpers_real_template.py"
        )
    return path


def _add_migration(copier_yml: str, item: str) -> str:
    """Append a `_migrations` entry, extending an existing list if the template has one."""
    match = re.search(r"(?m)^_migrations:[ \t]*\n", copier_yml)
    if match is None:
        return copier_yml.rstrip("\n") + "\n\n_migrations:\n" + _indent(item, "  ")
    following = copier_yml[match.end() :]
    indent = re.match(r"[ \t]*", following)
    prefix = indent.group(0) if indent else "  "
    return copier_yml[: match.end()] + _indent(item, prefix) + following


def _indent(block: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in block.splitlines(True))


def snapshot_template(root: Path) -> TemplateRepo:
    """A template repository holding the working tree's copier.yml, template/ and includes/."""
    repo = TemplateRepo.create(root)
    for name in TEMPLATE_ENTRIES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(
                origin, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        elif origin.is_file():
            shutil.copy2(origin, root / name)
    return repo


def apply_next_version(repo: TemplateRepo, version: str) -> None:
    """N -> N+1: new question, changed Makefile target, rename + migration, a Go change."""
    root = repo.root
    copier_yml = root / "copier.yml"
    text = _read(copier_yml)
    if NEW_QUESTION in (yaml.safe_load(text) or {}):
        raise AssertionError(f"copier.yml already has a question {NEW_QUESTION}; rename it here")
    item = (
        _RENAME_MIGRATION_ITEM.replace("@VERSION@", version)
        .replace("@OLD@", OLD_MIDDLEWARE)
        .replace("@NEW@", NEW_MIDDLEWARE)
    )
    text = _add_migration(text.rstrip("\n") + "\n" + _NEW_QUESTION_YAML, item)
    migrations = yaml.safe_load(text).get("_migrations", [])
    assert any(entry.get("version") == version for entry in migrations), text
    _write(copier_yml, text)

    readme = _must_exist(root / "template" / "README.md.jinja", "README gets the new answer")
    _write(readme, _read(readme).rstrip("\n") + "\n" + README_OWNER_SECTION)

    makefile = _must_exist(root / "template" / "Makefile.jinja", "the Makefile target changes")
    changed, count = _MAKEFILE_TEST_RECIPE.subn(
        rf"\1go test {MAKEFILE_TEST_FLAG} ", _read(makefile), count=1
    )
    if count != 1:
        raise AssertionError("Makefile.jinja has no `test:` target whose recipe is `go test ...`")
    _write(makefile, changed)

    _must_exist(root / "template" / OLD_MIDDLEWARE, "the file N+1 renames")
    repo.rename(f"template/{OLD_MIDDLEWARE}", f"template/{NEW_MIDDLEWARE}")

    go_file = _must_exist(root / "template" / GO_CHANGE_FILE, "the Go change")
    package_dir = go_file.parent
    if any(GO_CHANGE_FUNC in _read(path) for path in package_dir.glob("*.go")):
        raise AssertionError(f"{package_dir} already declares {GO_CHANGE_FUNC}")
    _write(go_file, _read(go_file).rstrip("\n") + "\n" + _GO_CHANGE_SNIPPET)


def apply_version_after_next(repo: TemplateRepo) -> None:
    """N+1 -> N+2: the renamed Go file changes again; README and Makefile grow."""
    root = repo.root
    chain = root / "template" / NEW_MIDDLEWARE
    text = _read(chain)
    if not text.startswith("package server\n"):
        raise AssertionError(f"{chain} does not start with `package server`")
    _write(
        chain,
        text.replace("package server\n", f"package server\n\n{MIDDLEWARE_N2_COMMENT}\n", 1),
    )
    readme = root / "template" / "README.md.jinja"
    _write(readme, _read(readme).rstrip("\n") + "\n" + README_SUPPORT_SECTION)
    makefile = root / "template" / "Makefile.jinja"
    _write(makefile, _read(makefile).rstrip("\n") + "\n" + MAKEFILE_COVER_TARGET)


@dataclass(frozen=True)
class RealTemplateReleases:
    """The template repository (left at N+2) and its three versions."""

    repo: TemplateRepo
    n: str
    n1: str
    n2: str


def build_real_template_releases(
    root: Path, versions: tuple[str, str, str], on_release: Callable[[str, Path], None]
) -> RealTemplateReleases:
    """Snapshot the working tree as N, then derive N+1 and N+2; commit + tag each in `root`.

    `on_release(version, root)` runs after each release, while `root` holds that version's
    files: e.g. `refresh_package_mirror(template_root=root, version=version, mirror=...)`.
    """
    n, n1, n2 = versions
    repo = snapshot_template(root)
    repo.release(n)
    on_release(n, root)
    apply_next_version(repo, n1)
    repo.release(n1)
    on_release(n1, root)
    apply_version_after_next(repo)
    repo.release(n2)
    on_release(n2, root)
    return RealTemplateReleases(repo, n, n1, n2)


# --- the team's edits ---------------------------------------------------------------------------

TEAM_ROUTE = '\tmux.Handle("GET /v1/team/hello", handleTeamHello())'
TEAM_HANDLER_FILE = "internal/server/handlers_team.go"
TEAM_HANDLER_TEST_FILE = "internal/server/handlers_team_test.go"
TEAM_HANDLER_GO = """\
package server

import "net/http"

// handleTeamHello is the team's own endpoint, registered in routes.go.
func handleTeamHello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hello from the team\\n"))
	})
}
"""
TEAM_HANDLER_TEST_GO = """\
package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandleTeamHello(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	handleTeamHello().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/team/hello", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "hello from the team\\n" {
		t.Fatalf("GET /v1/team/hello = %d %q", rec.Code, rec.Body.String())
	}
}
"""
TEAM_README_TITLE = "# svc — the orders team's service"
TEAM_EXTRA_FILE = "docs/runbook.md"
TEAM_EXTRA_TEXT = "# Runbook\n\nPage the orders team; dashboards are linked in the wiki.\n"
TEAM_MIDDLEWARE_CONST = 'const teamRequestIDHeader = "X-Team-Request-Id"'
TEAM_MIDDLEWARE_SNIPPET = f"""
// teamRequestIDHeader is the header our gateway sets (team edit; see docs/runbook.md).
{TEAM_MIDDLEWARE_CONST}
"""
TEAM_MAKEFILE_FLAG = "-v"


def make_team_edits(project: Path, *, conflicting: bool) -> None:
    """Apply and commit the team's edits to a project generated at N.

    With `conflicting`, the team also changes the Makefile's `test` recipe line, which N+1
    changes too: the update must show conflict markers there.
    """
    (project / TEAM_HANDLER_FILE).write_text(TEAM_HANDLER_GO, encoding="utf-8")
    (project / TEAM_HANDLER_TEST_FILE).write_text(TEAM_HANDLER_TEST_GO, encoding="utf-8")

    routes = project / "internal" / "server" / "routes.go"
    lines = _read(routes).splitlines(True)
    # First in addRoutes: a line no release has changed. (Right after GET /livez would conflict
    # with 0.2.0, which changed the GET /readyz registration below it: a real 3-way conflict.)
    anchor = next((i for i, line in enumerate(lines) if line.startswith("func addRoutes(")), None)
    if anchor is None:
        raise AssertionError(f"{routes} has no addRoutes function to add the team's route to")
    lines.insert(anchor + 1, TEAM_ROUTE + "\n")
    _write(routes, "".join(lines))

    readme = project / "README.md"
    text = _read(readme)
    if not text.startswith("# svc\n"):
        raise AssertionError("README.md does not start with `# svc`")
    _write(readme, text.replace("# svc\n", TEAM_README_TITLE + "\n", 1))

    extra = project / TEAM_EXTRA_FILE
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text(TEAM_EXTRA_TEXT, encoding="utf-8")

    middleware = project / OLD_MIDDLEWARE
    _write(middleware, _read(middleware).rstrip("\n") + "\n" + TEAM_MIDDLEWARE_SNIPPET)

    if conflicting:
        makefile = project / "Makefile"
        changed, count = _MAKEFILE_TEST_RECIPE.subn(
            rf"\1go test {TEAM_MAKEFILE_FLAG} ", _read(makefile), count=1
        )
        assert count == 1, "the generated Makefile has no `test:` recipe `go test ...`"
        _write(makefile, changed)
    commit_all(project, "team edits")
