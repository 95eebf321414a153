"""Render a project's template at one version with given answers, aside, for comparison.

`diff` and `update --heal` need what the template generates for a project — at the version and
with the answers the project records — without touching the project: Copier renders into a
temporary folder, reading the template from this installation's cache (offline). Tasks are
never run. The render also says which paths the template hands over to the team once
generated: its `_skip_if_exists` patterns, and the `_exclude` entries without a condition
(such as `/cmd/*/default.pgo`), which protect a team's own files from every update.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pathspec import GitIgnoreSpec

from ._constants import ANSWERS_FILE
from ._copier_adapter import team_owned_patterns
from ._copier_errors import copier_errors_translated
from ._copier_session import copier_reading_cache
from ._source import TemplateSource

if TYPE_CHECKING:
    from ._copier_adapter import Worker


@dataclass(frozen=True)
class TemplateRender:
    """What the template generates for a project: files under `root`, and the team's paths."""

    root: Path
    version: str
    files: frozenset[str]  # project-relative POSIX paths of the rendered files
    team_owned: Callable[[str], bool]  # `_skip_if_exists`, unconditional `_exclude` entries

    def is_team_owned(self, relative: str) -> bool:
        """True for a path the template leaves to the team once generated."""
        return self.team_owned(relative)

    def content(self, relative: str) -> bytes:
        """The bytes the template generates at `relative`."""
        return (self.root / relative).read_bytes()


def asked_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers of an answers file without Copier's own `_` entries."""
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def _files_under(root: Path) -> frozenset[str]:
    return frozenset(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def _team_owned_matcher(worker: Worker) -> Callable[[str], bool]:
    """`_skip_if_exists` (rendered) and the `_exclude` entries that hold no Jinja condition."""
    spec = GitIgnoreSpec.from_lines(team_owned_patterns(worker, ANSWERS_FILE))
    return lambda relative: bool(spec.match_file(relative))


@contextlib.contextmanager
def rendered_template(
    source: TemplateSource, version: str, answers: Mapping[str, Any], *, name: str
) -> Iterator[TemplateRender]:
    """Render `source` at `version` with `answers` into a temporary folder named `name`.

    The folder (and everything in it) is removed when the block ends.
    """
    import copier  # noqa: PLC0415 (lazy: importing Copier takes about a second)

    with tempfile.TemporaryDirectory(prefix="goperf-scaffold-render-") as scratch:
        root = Path(scratch) / name
        with copier_errors_translated(), copier_reading_cache(source.location, source.cache):
            worker = copier.run_copy(
                source.recorded, root, data=dict(asked_answers(answers)), defaults=True,
                vcs_ref=version, quiet=True, overwrite=True, unsafe=source.trusted,
                skip_tasks=True, cleanup_on_error=False,
            )  # fmt: skip
        yield TemplateRender(root, version, _files_under(root), _team_owned_matcher(worker))
