//! The `sailkit` binary: see the library docs (`cli/src/lib.rs`).

fn main() -> std::process::ExitCode {
    // Every connection is a file descriptor, and `up` alone holds the VIPs' and the instances'
    // pipes: take all the hard limit allows before anything else (see the `listener` crate).
    if let Err(error) = listener::raise_file_limit() {
        eprintln!("sailkit: cannot raise the open-file limit: {error}");
    }
    sailkit::main()
}
