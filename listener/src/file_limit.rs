//! The open-file limit, raised at start.
//!
//! Every connection, accepted or opened, is a file descriptor, and a process gets at most
//! `RLIMIT_NOFILE` of them. Its *soft* value, what a shell hands its children, is often 1,024;
//! the *hard* value, the ceiling a process may raise itself to without privileges, is usually far
//! higher. A launcher with five VIPs, or a proxy beside a busy service, needs more than 1,024, so
//! each sailkit binary raises its soft limit to the hard one before it listens (as Envoy's
//! packaging and nginx's `worker_rlimit_nofile` do). The `rlimit` crate makes the system calls.

/// Raises the soft limit on open files to the hard one; returns the limit now in force.
pub fn raise_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
