-- events: one row per accepted event, written in batches by store.BatchWriter.
-- id is INTEGER PRIMARY KEY, an alias of the rowid: no separate index, and no
-- AUTOINCREMENT (which costs a write to sqlite_sequence on every insert).
-- payload is JSON text; the writer validates it before queueing.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
