"""Read what a generated project recorded: its answers file, template source and version."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from ._constants import ANSWERS_FILE
from ._versions import parse_recorded_version
from .errors import (
    AnswersFileUnreadableError,
    AnswersWithoutSourceError,
    AnswersWithoutVersionError,
    NoAnswersFileError,
    ProjectNotAFolderError,
)


@dataclass(frozen=True)
class RecordedProject:
    """A generated project and the template metadata in its answers file."""

    path: Path
    answers: dict[str, Any]
    src_path: str
    commit: str
    version: Version


def read_recorded_project(path: str | os.PathLike[str]) -> RecordedProject:
    """Load PATH's answers file; refuse folders not generated from a versioned template."""
    project = Path(os.path.abspath(Path(path).expanduser()))
    if not project.is_dir():
        raise ProjectNotAFolderError(project=project)
    answers_path = project / ANSWERS_FILE
    if not answers_path.is_file():
        raise NoAnswersFileError(project=project)
    try:
        loaded = yaml.safe_load(answers_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise AnswersFileUnreadableError(path=answers_path, detail=str(error)) from error
    answers = dict(loaded) if isinstance(loaded, dict) else {}
    src_path = answers.get("_src_path")
    commit = answers.get("_commit")
    if not isinstance(src_path, str) or not src_path:
        raise AnswersWithoutSourceError(path=answers_path)
    version = parse_recorded_version(str(commit) if commit is not None else None)
    if version is None:
        raise AnswersWithoutVersionError(path=answers_path, commit=commit)
    return RecordedProject(project, answers, src_path, str(commit), version)
