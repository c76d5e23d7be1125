-- The ratings table of Bookinfo's database-backed ratings (v2): one row per review, in review
-- order. ratings v2 reads the first two rows as Reviewer1 and Reviewer2, for every product.
-- Applied migrations are never edited: change the schema with a new numbered file.
CREATE TABLE ratings (
    review_id INTEGER PRIMARY KEY,
    rating INTEGER NOT NULL
);

INSERT INTO ratings (review_id, rating) VALUES (1, 5), (2, 4);
