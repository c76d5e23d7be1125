-- The banner calendar, PostgreSQL flavour. Times are unix seconds, UTC.

-- btree_gist lets a GiST index compare plain values with `=` (platform, slot) next to the range
-- overlap below. It is a "trusted" extension: the database owner may create it, no superuser
-- needed.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE banners (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      TEXT   NOT NULL,
    platform   TEXT   NOT NULL CHECK (platform IN ('mobile', 'desktop')),
    slot       BIGINT NOT NULL CHECK (slot BETWEEN 1 AND 6),
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    image_url  TEXT,
    link_url   TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (starts_at < ends_at),
    -- No two banners of one platform slot may overlap in time. int8range(a, b) is the half-open
    -- range [a, b), so a banner that ends exactly when the next one starts does not overlap it.
    -- The database checks this itself, under concurrent writers too (SQLSTATE 23P01 when broken).
    CONSTRAINT banners_no_overlap EXCLUDE USING gist (
        platform WITH =,
        slot WITH =,
        int8range(starts_at, ends_at) WITH &&
    )
);

-- Serves the list order and the "active" lookup.
CREATE INDEX banners_by_slot ON banners (platform, slot, starts_at);
