"""The test suite, a package: its support modules are imported relatively (`from .conftest
import run`, `from ._helpers_env import require_go`), never as top-level names on sys.path."""
