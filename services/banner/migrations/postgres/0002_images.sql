-- Uploaded banner images, kept in the database with the banners. An image is never changed:
-- a new upload is a new row with a new id, which is what lets /images/{id} be cached forever.
CREATE TABLE images (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_type TEXT   NOT NULL
                 CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    size         BIGINT NOT NULL CHECK (size > 0),
    sha256       TEXT   NOT NULL, -- hex; the ETag
    bytes        BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT   NOT NULL,
    CHECK (size = length(bytes))
);
