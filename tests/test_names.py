"""project_name from the destination folder: the CLI and copier.yml's default agree."""

from __future__ import annotations

from pathlib import PurePath

import jinja2
import pytest
import yaml

from scaffolder._names import derive_project_name
from scaffolder.errors import InvalidAnswerError

from .conftest import REPO_ROOT

VALID = {
    "my-service": "my-service",
    "My Service": "my-service",
    "Orders_API v2": "orders-api-v2",
    "--edge--": "edge",
    "a--b": "a-b",
}
INVALID = ["1abc", "123", "---", "_", "é"]


def copier_default(folder: str) -> str:
    """copier.yml's project_name default, rendered the way Copier renders it."""
    expression = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["project_name"]["default"]
    environment = jinja2.Environment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], autoescape=False
    )
    return environment.from_string(expression).render(
        _copier_conf={"dst_path": PurePath("/somewhere") / folder}
    )


@pytest.mark.parametrize(("folder", "expected"), VALID.items())
def test_valid_folder_names_give_the_same_name_to_the_cli_and_to_copier(
    folder: str, expected: str
) -> None:
    assert derive_project_name(folder) == expected
    assert copier_default(folder) == expected


@pytest.mark.parametrize("folder", INVALID)
def test_folder_names_that_give_no_valid_name_are_refused_naming_what_was_typed(
    folder: str,
) -> None:
    with pytest.raises(InvalidAnswerError) as refused:
        derive_project_name(folder)
    assert f"'{folder}'" in str(refused.value)
    assert "--data project_name=NAME" in str(refused.value)
