"""Names the package, its error messages and its modules share; imports nothing of ours."""

from __future__ import annotations

PACKAGE_NAME = "goperf-scaffold"
# The `[project.urls]` label under which the package declares its template's git URL.
TEMPLATE_URL_LABEL = "Template"
# Where Copier records a project's template source, version and answers.
ANSWERS_FILE = ".copier-answers.yml"
