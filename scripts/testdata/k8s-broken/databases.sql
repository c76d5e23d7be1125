-- Not the same as docker/postgres/databases.sql: one database is missing.
CREATE DATABASE ratings;
