//! The `sailkit` binary: see the library docs (`cli/src/lib.rs`).

/// mimalloc, as in the `mesh-proxy` binary: `sailkit up` runs its sidecars as `sailkit proxy`,
/// and with the system allocator a sidecar that loaded a large config kept the memory after
/// the config shrank (10,000 routes: 215 MB after going back to one route, against 24 to 45 MB
/// with mimalloc; docs/benchmarks.md, "Route tables").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Every connection is a file descriptor, and `up` alone holds the VIPs' and the instances'
    // pipes: take all the hard limit allows before anything else (see the `listener` crate).
    if let Err(error) = listener::raise_file_limit() {
        eprintln!("sailkit: cannot raise the open-file limit: {error}");
    }
    sailkit::main()
}
