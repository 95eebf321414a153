"""The client-side ledger of POST /v1/events (the load client's acked_file) and its checker
against what the database holds.

The acknowledgement contract: 2xx means every event of the request is stored exactly once;
an answer with {"outcome": "not_stored"} means none is; {"outcome": "unknown"} or no answer
at all means either, but never twice; nothing the clients did not send is ever stored; 500 never
answers a curable fault. The ledger's tags are described in tests/_loadgen/main.go."""

from __future__ import annotations

import collections
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

POISON_STATUSES = frozenset({400, 422})


@dataclass(frozen=True)
class Entry:
    """One events request as the client saw it."""

    tag: str  # A, N, M, U, R, P
    req_id: str
    events: int
    status: int  # 0: no answer

    def ids(self) -> list[str]:
        return [f"{self.req_id}.{i}" for i in range(self.events)]


def read_ledger(*paths: Path) -> list[Entry]:
    entries = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            tag, req_id, n, *rest = line.split()
            entries.append(Entry(tag, req_id, int(n), int(rest[0]) if rest else 0))
    return entries


def _payload_id(text: str) -> str:
    # Poison payloads hold numbers Python would refuse to convert (200,000 digits) or turn
    # into inf: keep every number as its text.
    try:
        value = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except ValueError:
        return "<unparsable>"
    return str(value.get("id", "")) if isinstance(value, dict) else ""


def stored_ids_sqlite(db: Path) -> collections.Counter[str]:
    """Event ids in the events table of a SQLite file (opened read-only, service stopped)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT payload FROM events").fetchall()
    finally:
        conn.close()
    return collections.Counter(_payload_id(str(p)) for (p,) in rows)


def stored_ids_postgres(url: str) -> collections.Counter[str]:
    import psycopg  # noqa: PLC0415 - only the postgres scenarios need it

    with psycopg.connect(url, connect_timeout=10) as conn:
        rows = conn.execute("SELECT payload->>'id' FROM events").fetchall()
    return collections.Counter(str(r[0]) for r in rows)


@dataclass
class Check:
    """The ledger against the database. Event counts unless named requests."""

    requests: dict[str, int] = field(default_factory=dict)  # by tag
    statuses: dict[str, int] = field(default_factory=dict)  # "tag:status" -> requests
    acked: int = 0
    acked_missing: int = 0
    duplicated: int = 0  # ids stored more than once
    not_stored: int = 0
    not_stored_but_present: int = 0
    unknown: int = 0  # M + U
    unknown_present: int = 0
    no_outcome: int = 0  # answered non-2xx without an outcome field (requests)
    no_outcome_present: int = 0
    refused: int = 0  # never sent (connection refused)
    refused_but_present: int = 0
    poison_requests: int = 0
    poison_bad_status: int = 0  # requests answered with anything but 400/422
    poison_present: int = 0  # events of poison requests (good and bad) found stored
    never_sent_but_present: int = 0
    split_requests: int = 0  # requests with some but not all events stored
    status_500: int = 0  # requests
    samples: dict[str, list[str]] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """The verdict: what breaks the acknowledgement contract (empty: it holds)."""
        out = []
        for name in (
            "acked_missing",
            "duplicated",
            "not_stored_but_present",
            "refused_but_present",
            "never_sent_but_present",
            "status_500",
            "poison_bad_status",
            "poison_present",
        ):
            value = getattr(self, name)
            if value:
                sample = self.samples.get(name, [])[:5]
                out.append(f"{name}={value}" + (f" e.g. {sample}" if sample else ""))
        return out

    def figures(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("samples")
        return {k: v for k, v in out.items() if v or k in ("acked", "acked_missing", "duplicated")}


# Ledger tag -> (the Check field counting its events, the one counting those found stored).
# A, P and R with a status are handled on their own.
_BUCKETS = {
    "N": ("not_stored", "not_stored_but_present"),
    "M": ("unknown", "unknown_present"),
    "U": ("unknown", "unknown_present"),
    "R": ("refused", "refused_but_present"),  # status 0: never sent
}


def _sample(samples: dict[str, list[str]], name: str, value: str) -> None:
    if len(samples[name]) < 5:
        samples[name].append(value)


def _entry(c: Check, e: Entry, ours: dict[str, int], samples: dict[str, list[str]]) -> None:
    """Count one ledger entry into c."""
    ids = e.ids()
    present = [i for i in ids if i in ours]
    if e.status == 500:
        c.status_500 += 1
        _sample(samples, "status_500", e.req_id)
    if 0 < len(present) < len(ids):
        c.split_requests += 1
        _sample(samples, "split_requests", e.req_id)
    if e.tag == "A":
        c.acked += len(ids)
        missing = [i for i in ids if i not in ours]
        c.acked_missing += len(missing)
        if missing:
            _sample(samples, "acked_missing", missing[0])
        return
    if e.tag == "P":
        c.poison_requests += 1
        if e.status not in POISON_STATUSES:
            c.poison_bad_status += 1
            _sample(samples, "poison_bad_status", f"{e.req_id}:{e.status}")
        c.poison_present += len(present)
        if present:
            _sample(samples, "poison_present", present[0])
        return
    if e.tag == "R" and e.status != 0:
        c.no_outcome += 1
        c.no_outcome_present += len(present)
        return
    total, found = _BUCKETS[e.tag]
    setattr(c, total, getattr(c, total) + len(ids))
    setattr(c, found, getattr(c, found) + len(present))
    if present:
        _sample(samples, found, present[0])


def check(
    entries: Iterable[Entry], stored: collections.Counter[str], prefixes: tuple[str, ...]
) -> Check:
    """Compare the ledger with the ids stored in the database (those under prefixes: "<prefix>-"
    starts every request id of a target with that id_prefix)."""
    starts = tuple(f"{p}-" for p in prefixes)
    ours = {k: v for k, v in stored.items() if k.startswith(starts)}
    c = Check()
    requests: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[str] = collections.Counter()
    samples: dict[str, list[str]] = collections.defaultdict(list)
    sent: set[str] = set()
    for e in entries:
        requests[e.tag] += 1
        statuses[f"{e.tag}:{e.status}"] += 1
        sent.update(e.ids())
        _entry(c, e, ours, samples)
    for k, v in ours.items():
        if v > 1:
            c.duplicated += 1
            _sample(samples, "duplicated", f"{k}x{v}")
        if k not in sent:
            c.never_sent_but_present += 1
            _sample(samples, "never_sent_but_present", k)
    c.requests = dict(sorted(requests.items()))
    c.statuses = dict(sorted(statuses.items()))
    c.samples = dict(samples)
    return c
