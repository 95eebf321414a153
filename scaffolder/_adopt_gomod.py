"""go.mod and go.sum of an adopted repository: the repository's, plus what the template needs.

Conflict markers in go.mod stop every `go` command, so `adopt` never leaves them there. The
repository's go.mod is kept as written (module, replace, exclude, comments) and gains what the
template's files need: the higher `go` and `toolchain` versions, each required module at the
higher of the two versions, and the template's `tool` and `godebug` entries it lacks. go.sum
becomes the union of both (extra lines are harmless; `go mod tidy` prunes them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"\s*//.*$")
_BLOCKS = ("require", "tool", "godebug")
_SINGLE = ("go", "toolchain")


@dataclass
class _GoMod:
    """The directives of one go.mod that the merge compares, with the lines they are on."""

    lines: list[str]
    single: dict[str, tuple[str, int]] = field(default_factory=dict)  # go, toolchain
    # directive -> key -> (tokens, line number, the entry as written, comment included)
    entries: dict[str, dict[str, tuple[list[str], int, str]]] = field(default_factory=dict)


def _parse(text: str) -> _GoMod:
    mod = _GoMod(text.splitlines())
    block: str | None = None
    for number, line in enumerate(mod.lines):
        tokens = _COMMENT.sub("", line).split()
        if block is not None:
            if tokens == [")"]:
                block = None
            elif tokens:
                entry = (tokens, number, line.strip())
                mod.entries.setdefault(block, {})[_key(block, tokens)] = entry
            continue
        if not tokens:
            continue
        if tokens[0] in _BLOCKS and tokens[1:] == ["("]:
            block = tokens[0]
        elif tokens[0] in _BLOCKS and len(tokens) > 1:
            rest, written = tokens[1:], line.strip().removeprefix(tokens[0]).strip()
            mod.entries.setdefault(tokens[0], {})[_key(tokens[0], rest)] = (rest, number, written)
        elif tokens[0] in _SINGLE and len(tokens) == 2:
            mod.single[tokens[0]] = (tokens[1], number)
    return mod


def _key(directive: str, tokens: list[str]) -> str:
    """What identifies an entry: a module path, a tool's package, a godebug setting's name."""
    return tokens[0].split("=")[0] if directive == "godebug" else tokens[0]


def _numbers(version: str) -> tuple[int, ...]:
    core = re.split(r"[-+]", version, maxsplit=1)[0]
    return tuple(int(part) for part in re.findall(r"\d+", core))


def _module_version_key(version: str) -> tuple[tuple[int, ...], int, str]:
    """Semantic-version order: v1.2.3 after v1.2.3-pre (pseudo-versions are pre-releases)."""
    core, _, pre = version.lstrip("v").split("+")[0].partition("-")
    return _numbers(core), 0 if pre else 1, pre


def _go_version_key(version: str) -> tuple[tuple[int, ...], int]:
    """Go's own order: go1.24 < go1.24rc1 is false; 1.24rc1 < 1.24.0."""
    release = version.removeprefix("go")
    core, _, candidate = release.partition("rc")
    numbers = _numbers(core)
    return numbers + (0,) * (3 - len(numbers)), 0 if candidate else 1


def _newer(theirs: list[str], ours: list[str]) -> bool:
    """True when the template requires a module at a higher version than the repository."""
    if len(theirs) < 2 or len(ours) < 2:
        return False
    return _module_version_key(theirs[1]) > _module_version_key(ours[1])


def merge_go_mod(ours: str, theirs: str) -> str:
    """The repository's go.mod (`ours`), with what the template's go.mod (`theirs`) needs."""
    our, their = _parse(ours), _parse(theirs)
    lines = list(our.lines)
    appended: list[str] = []
    for name, (version, _) in their.single.items():
        current = our.single.get(name)
        if current is None:
            appended.append(f"{name} {version}")
        elif _go_version_key(version) > _go_version_key(current[0]):
            lines[current[1]] = lines[current[1]].replace(current[0], version, 1)
    for directive in _BLOCKS:
        missing: list[str] = []
        mine_all = our.entries.get(directive, {})
        for key, (tokens, _, written) in their.entries.get(directive, {}).items():
            mine = mine_all.get(key)
            if mine is None:
                missing.append(written)
            elif directive == "require" and _newer(tokens, mine[0]):
                lines[mine[1]] = lines[mine[1]].replace(mine[0][1], tokens[1], 1)
        if missing:
            appended.extend(["", f"{directive} (", *(f"\t{entry}" for entry in missing), ")"])
    merged = "\n".join(lines).rstrip("\n") + "\n"
    if appended:
        merged += "\n" + "\n".join(appended).strip("\n") + "\n"
    return merged


def merge_go_sum(ours: str, theirs: str) -> str:
    """Every checksum line of both go.sum files, the repository's first."""
    seen = dict.fromkeys(line for line in ours.splitlines() if line.strip())
    seen.update(dict.fromkeys(line for line in theirs.splitlines() if line.strip()))
    return "".join(f"{line}\n" for line in seen)
