"""A local Go vulnerability database for govulncheck, built offline from the OSV files that the
golang.org/x/vulndb module carries (the module proxy serves it; vuln.go.dev is not reachable).

The layout is govulncheck's v1 database schema (go.dev/security/vuln/database#api), read through
`govulncheck -db file:///...`: index/db.json, index/modules.json, index/vulns.json and
ID/<id>.json. It mirrors golang.org/x/vulndb's own `cmd/indexdb` with one deliberate difference:
modules.json leaves out the optional per-entry "fixed" hint, so govulncheck reads every entry of
a module it finds and decides from the entry's full version ranges. That can only make it look
at more entries, never skip one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import go_env, run

# The x/vulndb commit the suite scans against; raise it to pick up newer reports.
VULNDB_MODULE = "golang.org/x/vulndb"
VULNDB_VERSION = "v0.0.0-20261105234957-e22db6528018"
GOVULNCHECK = "golang.org/x/vuln/cmd/govulncheck"
GOVULNCHECK_VERSION = "v1.9.0"


def download_vulndb(work: Path) -> tuple[Path, str]:
    """Download the x/vulndb module (module proxy, cached in GOMODCACHE); its OSV folder and
    the commit time of the pinned version."""
    out = run(
        ["go", "mod", "download", "-json", f"{VULNDB_MODULE}@{VULNDB_VERSION}"], work, timeout=600
    ).stdout
    info = json.loads(out)
    osv_dir = Path(info["Dir"]) / "data" / "osv"
    when = json.loads(Path(info["Info"]).read_text())["Time"]
    return osv_dir, when


def build_database(
    entries: list[dict[str, Any]], raw: list[bytes], out: Path, modified: str
) -> int:
    """Write the v1 layout for entries (raw holds each entry's original JSON text)."""
    (out / "ID").mkdir(parents=True, exist_ok=True)
    (out / "index").mkdir(parents=True, exist_ok=True)
    modules: dict[str, list[dict[str, str]]] = {}
    vulns: list[dict[str, Any]] = []
    for entry, text in zip(entries, raw, strict=True):
        (out / "ID" / f"{entry['id']}.json").write_bytes(text)
        vulns.append(
            {"id": entry["id"], "modified": entry["modified"], "aliases": entry.get("aliases", [])}
        )
        for affected in entry.get("affected", []):
            path = affected["package"]["name"]
            modules.setdefault(path, []).append({"id": entry["id"], "modified": entry["modified"]})
    index: list[dict[str, Any]] = [
        {"path": path, "vulns": sorted(vulns_of, key=lambda v: v["id"])}
        for path, vulns_of in sorted(modules.items())
    ]
    (out / "index" / "modules.json").write_text(json.dumps(index, separators=(",", ":")))
    (out / "index" / "vulns.json").write_text(
        json.dumps(sorted(vulns, key=lambda v: str(v["id"])), separators=(",", ":"))
    )
    # db.json's "modified" is the newest change in the database: the pinned commit's time (the
    # OSV files in the repository carry zero timestamps; vuln.go.dev fills them at deploy).
    (out / "index" / "db.json").write_text(json.dumps({"modified": modified}))
    return len(entries)


def build_from_vulndb(work: Path, out: Path) -> dict[str, Any]:
    """Build the local database from the pinned x/vulndb; a summary of what it holds."""
    osv_dir, when = download_vulndb(work)
    files = sorted(osv_dir.glob("GO-*.json"))
    raw = [f.read_bytes() for f in files]
    entries = [json.loads(t) for t in raw]
    count = build_database(entries, raw, out, when)
    return {"entries": count, "vulndb_version": VULNDB_VERSION, "modified": when, "path": str(out)}


def synthetic_entry(vuln_id: str, module: str, package: str, symbols: list[str]) -> dict[str, Any]:
    """An OSV entry that marks symbols of package as vulnerable in every version of module."""
    return {
        "schema_version": "1.3.1",
        "id": vuln_id,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "summary": f"synthetic control entry for {package}",
        "details": "Written by the reliability suite to prove that the scan reports called code.",
        "affected": [
            {
                "package": {"name": module, "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                "ecosystem_specific": {"imports": [{"path": package, "symbols": symbols}]},
            }
        ],
    }


def install_govulncheck(gobin: Path, work: Path) -> Path:
    """go install govulncheck at the pinned version into gobin (module proxy)."""
    run(
        ["go", "install", f"{GOVULNCHECK}@{GOVULNCHECK_VERSION}"],
        work,
        env=go_env(GOBIN=str(gobin)),
    )
    return gobin / "govulncheck"


def scan(
    govulncheck: Path, db: Path, project: Path, pattern: str = "./..."
) -> list[dict[str, Any]]:
    """Run govulncheck (source mode, symbol level) and return its JSON messages."""
    proc = run(
        [str(govulncheck), "-db", db.as_uri(), "-format", "json", pattern], project, timeout=1200
    )
    return parse_stream(proc.stdout)


def parse_stream(text: str) -> list[dict[str, Any]]:
    """govulncheck -format json prints a stream of JSON objects, not one document."""
    dec = json.JSONDecoder()
    out = []
    i = 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
    return out


def called_findings(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Findings at symbol level (the code calls a vulnerable function), by OSV id."""
    osv = {m["osv"]["id"]: m["osv"] for m in messages if "osv" in m}
    out: dict[str, dict[str, Any]] = {}
    for m in messages:
        finding = m.get("finding")
        if not finding:
            continue
        frame = finding["trace"][0]
        if not frame.get("function"):
            continue  # imported or required, but not called
        entry = out.setdefault(
            finding["osv"],
            {
                "module": frame.get("module", ""),
                "fixed_version": finding.get("fixed_version", ""),
                "summary": osv.get(finding["osv"], {}).get("summary", ""),
                "symbols": set(),
            },
        )
        entry["symbols"].add(
            f"{frame.get('package', '')}.{frame.get('receiver', '')}{frame['function']}"
        )
    return out
