-- event_batches: the token of every batch the writer commits, written in the
-- batch's own transaction. After a connection failure during COMMIT the
-- writer settles the outcome by inserting the token itself as not committed:
-- the primary key lets only one of the two inserts win, so the answer is
-- final and survives a crash of the server (store/postgres.go). Tokens begin
-- with the time they were made, and the writer deletes those older than an
-- hour.
CREATE TABLE event_batches (
    token     uuid PRIMARY KEY,
    committed boolean NOT NULL
);

-- created_at is the time the row was written. now() is the start of the
-- transaction, and the writer opens the next batch's transaction as soon as
-- the previous one commits, before that batch's rows exist.
ALTER TABLE events ALTER COLUMN created_at SET DEFAULT clock_timestamp();
