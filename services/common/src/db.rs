//! Database connections for the services that store data (ratings v2 and banner).
//!
//! One code path serves both databases the kit supports, through sqlx's `Any` driver:
//! - **SQLite**, the embedded default: a file, created on first start. Nothing to install.
//! - **PostgreSQL**, in docker compose and Kubernetes, chosen by a `postgres://` `DATABASE_URL`.
//!
//! Queries are written once, in the SQL both understand, with `$1`-style parameters. Schema
//! differences (PostgreSQL's exclusion constraints, SQLite's triggers) live in the migrations,
//! which each service keeps in two folders, `migrations/sqlite` and `migrations/postgres`. The
//! migrations are embedded in the binary and run at start, so a fresh database is ready at once.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of `url`, from its scheme.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

impl Backend {
    /// The backend `pool` is connected to.
    pub fn of_pool(pool: &AnyPool) -> Option<Self> {
        Self::of(pool.connect_options().database_url.as_str())
    }

    /// The backend of a connection, from the name sqlx's `Any` driver gives it.
    pub fn of_connection(conn: &sqlx::AnyConnection) -> Option<Self> {
        match conn.backend_name() {
            "SQLite" => Some(Self::Sqlite),
            "PostgreSQL" => Some(Self::Postgres),
            _ => None,
        }
    }

    /// Its `db.system.name` in OpenTelemetry's conventions.
    pub fn system_name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

/// The span of one query: `SELECT ratings`, a client span with OpenTelemetry's database
/// attributes. Run the query in it (`.instrument(query_span(...))`). sqlx itself logs each
/// statement as an event, not a span, so the stores make one per query here.
///
/// Its OpenTelemetry parent is the current span (the handler's), but in `tracing` it has none.
/// sqlx hands the current span to its SQLite worker thread, which may drop the last reference
/// to it. Closing a span with a `tracing` parent closes a reference to that parent through the
/// *thread's* default dispatcher, and on sqlx's threads that is the process's global one, which
/// does not know this service instance's spans (see `telemetry`): it panicked, and the pool
/// lost that worker's connection for good.
pub fn query_span(backend: Option<Backend>, operation: &str, table: &str) -> tracing::Span {
    let span = tracing::info_span!(
        parent: None,
        "query",
        otel.name = %format_args!("{operation} {table}"),
        otel.kind = "client",
        db.system.name = backend.map_or("other_sql", Backend::system_name),
        db.operation.name = operation,
        db.collection.name = table,
    );
    // Fails only when the span is disabled (tracing off); it then needs no parent.
    let _ = span.set_parent(tracing::Span::current().context());
    span
}

/// A service's migrations for each backend, from `sqlx::migrate!("migrations/sqlite")` and
/// `sqlx::migrate!("migrations/postgres")`.
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL {0:?} is neither sqlite: nor postgres://")]
    UnknownScheme(String),
    #[error("cannot create the folder for the SQLite file {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot find the database host of {url}: {reason}")]
    Resolve { url: String, reason: String },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot migrate the database at {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// Connects to `url`, creating the SQLite file if needed, and runs the migrations.
pub async fn connect(url: &str, migrations: &Migrations) -> Result<AnyPool, DbError> {
    install_default_drivers();
    let backend = Backend::of(url).ok_or_else(|| DbError::UnknownScheme(redact(url)))?;
    let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
    let url = match backend {
        Backend::Sqlite => {
            create_parent_folder(url)?;
            // Readers and one writer at a time; writers wait for each other instead of failing.
            options = options.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            });
            with_create_mode(url)
        }
        Backend::Postgres => {
            options = options.max_connections(16);
            // sqlx would resolve the host with glibc, which a static binary cannot do for a
            // name (`postgres` in compose): connect to the address netresolve finds instead.
            // The address is fixed for the pool's life; a database that moves needs a restart.
            netresolve::Resolver::system()
                .pin_url_host(url)
                .await
                .map_err(|error| DbError::Resolve {
                    url: redact(url),
                    reason: error.to_string(),
                })?
        }
    };
    let pool = options
        .connect(&url)
        .await
        .map_err(|source| DbError::Connect {
            url: redact(&url),
            source,
        })?;
    if backend == Backend::Sqlite {
        // Write-ahead logging lets readers go on while a write is under way. It is a property
        // of the file, so setting it once is enough.
        pool.execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(|source| DbError::Connect {
                url: redact(&url),
                source,
            })?;
    }
    let migrator = match backend {
        Backend::Sqlite => &migrations.sqlite,
        Backend::Postgres => &migrations.postgres,
    };
    migrator
        .run(&pool)
        .await
        .map_err(|source| DbError::Migrate {
            url: redact(&url),
            source,
        })?;
    tracing::info!(url = %redact(&url), ?backend, "database ready");
    Ok(pool)
}

/// The `sqlite:` URL for a file, asking SQLite to create it when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn create_parent_folder(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateFolder {
                path: path.to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// `url` with any password replaced by `***`, for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("postgres://bookinfo:s3cret@db:5432/bookinfo"),
            "postgres://bookinfo:***@db:5432/bookinfo"
        );
        assert_eq!(redact("sqlite://data/banner.db"), "sqlite://data/banner.db");
    }

    #[test]
    fn the_backend_comes_from_the_scheme() {
        assert_eq!(Backend::of("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of("mysql://h/db"), None);
    }

    #[test]
    fn sqlite_files_are_created_when_missing() {
        assert_eq!(with_create_mode("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            with_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
