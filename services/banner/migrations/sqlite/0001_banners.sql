-- The banner calendar, SQLite flavour. Times are unix seconds, UTC.
--
-- STRICT makes SQLite refuse a value of the wrong type instead of storing it anyway.
CREATE TABLE banners (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted id is never handed out again
    title      TEXT    NOT NULL,
    platform   TEXT    NOT NULL CHECK (platform IN ('mobile', 'desktop')),
    slot       INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 6),
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    image_url  TEXT,
    link_url   TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (starts_at < ends_at)
) STRICT;

-- Serves the list order, the "active" lookup and the overlap checks below.
CREATE INDEX banners_by_slot ON banners (platform, slot, starts_at);

-- No two banners of one platform slot may overlap in time. Schedules are half-open,
-- [starts_at, ends_at), so two of them overlap when each starts before the other ends; a banner
-- that ends exactly when the next one starts does not overlap it.
--
-- SQLite has no exclusion constraints, so triggers check before each write. This is safe against
-- concurrent writers because SQLite lets one writer at a time into the file: the check and the
-- write happen inside the same write transaction, and nobody can slip a row in between.
-- The error text is the name the service looks for (and PostgreSQL's constraint name).
CREATE TRIGGER banners_no_overlap_insert
BEFORE INSERT ON banners
WHEN EXISTS (
    SELECT 1 FROM banners
    WHERE platform = NEW.platform
      AND slot = NEW.slot
      AND starts_at < NEW.ends_at
      AND NEW.starts_at < ends_at
)
BEGIN
    SELECT RAISE(ABORT, 'banners_no_overlap');
END;

-- The same rule for updates; the row being replaced does not conflict with itself.
CREATE TRIGGER banners_no_overlap_update
BEFORE UPDATE OF platform, slot, starts_at, ends_at ON banners
WHEN EXISTS (
    SELECT 1 FROM banners
    WHERE id <> OLD.id
      AND platform = NEW.platform
      AND slot = NEW.slot
      AND starts_at < NEW.ends_at
      AND NEW.starts_at < ends_at
)
BEGIN
    SELECT RAISE(ABORT, 'banners_no_overlap');
END;
