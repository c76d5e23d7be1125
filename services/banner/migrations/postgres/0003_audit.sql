-- Who wrote each banner, and the audit log of every write.

-- NULL for banners written before there were admin accounts.
ALTER TABLE banners ADD COLUMN created_by TEXT, ADD COLUMN updated_by TEXT;

-- One row per write, added in the same transaction as the write. banner_id and image_id have
-- no FOREIGN KEY on purpose: deleting a banner must keep its history (a cascade would delete it,
-- and a plain foreign key would forbid the delete).
CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL CHECK (action IN ('create', 'update', 'delete', 'upload')),
    banner_id BIGINT,
    image_id  BIGINT,
    summary   TEXT   NOT NULL
);

-- A banner's history, in order.
CREATE INDEX audit_log_by_banner ON audit_log (banner_id, id);
