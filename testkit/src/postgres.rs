//! A throwaway PostgreSQL cluster for tests.
//!
//! The first test that asks for a database starts one cluster for the whole test binary:
//! `initdb` into a temporary folder, then `postgres` listening only on a Unix socket in that
//! folder (no TCP port, so nothing can clash). Each test then gets a fresh database of its own.
//!
//! `initdb` refuses to run as root, so as root the commands run as the `postgres` user.
//!
//! The server is started by a small shell that waits on a pipe from this process. When the test
//! binary exits, for whatever reason, the pipe closes and the shell stops the server and removes
//! the folder: no server is left behind.
//!
//! Where the PostgreSQL server binaries cannot be found, [`database`] returns `None` and the test
//! skips with a message; with `CI` or `SAILKIT_REQUIRE_POSTGRES` set it fails instead, so CI
//! cannot pass without running the PostgreSQL tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::Connection;

const PORT: u16 = 5432;

struct Cluster {
    socket_dir: PathBuf,
    /// Keeps the watchdog's stdin open for as long as this process lives.
    _watchdog: Mutex<Child>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the shared test cluster, as a `postgres://` URL; `None` (with a
/// message on stderr) when PostgreSQL is not installed and not required.
pub async fn database() -> Option<String> {
    let cluster = CLUSTER.get_or_init(start_cluster);
    let cluster = match cluster {
        Ok(c) => c,
        Err(reason) => {
            if required() {
                panic!("PostgreSQL is required (CI or SAILKIT_REQUIRE_POSTGRES) but: {reason}");
            }
            eprintln!("skipping PostgreSQL test: {reason}");
            return None;
        }
    };
    let admin_url = url(&cluster.socket_dir, "postgres");
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = connect_with_retry(&admin_url, Duration::from_secs(30)).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE on the test cluster");
    Some(url(&cluster.socket_dir, &name))
}

fn required() -> bool {
    ["CI", "SAILKIT_REQUIRE_POSTGRES"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
}

fn url(socket_dir: &Path, db: &str) -> String {
    format!(
        "postgres://postgres@localhost:{PORT}/{db}?host={}",
        socket_dir.display()
    )
}

async fn connect_with_retry(url: &str, limit: Duration) -> sqlx::PgConnection {
    let started = Instant::now();
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(conn) => return conn,
            Err(e) if started.elapsed() < limit => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the test PostgreSQL cluster did not accept connections: {e}"),
        }
    }
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = find_bin_dir().ok_or(
        "no PostgreSQL server binaries (looked in $PG_BIN, /usr/lib/postgresql/*/bin and PATH)",
    )?;
    let as_root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("sailkit-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?
        .keep();
    if as_root {
        run(Command::new("chown").arg("postgres:").arg(&dir))?;
    }
    let data = dir.join("data");
    let initdb = bin.join("initdb");
    run(as_user(as_root, &initdb)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data))?;

    // The watchdog shell: start the server, wait for our pipe to close, stop it, clean up.
    let script = format!(
        "'{postgres}' -D '{data}' -k '{dir}' -p {PORT} -c listen_addresses= -c fsync=off \
         -c max_connections=300 -c full_page_writes=off >'{dir}/server.log' 2>&1 & pid=$!; \
         cat >/dev/null; kill -INT $pid; wait $pid; rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let watchdog = as_user(as_root, Path::new("/bin/sh"))
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    Ok(Cluster {
        socket_dir: dir,
        _watchdog: Mutex::new(watchdog),
    })
}

fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().or_else(|| {
        std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").exists()))
    })
}
