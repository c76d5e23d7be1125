-- The databases of the services stage, made at PostgreSQL's first start (an empty volume).
-- Each service runs its own migrations in its own database.
CREATE DATABASE ratings;
CREATE DATABASE banner;
