//! The `sailkit` binary: see the library docs (`cli/src/lib.rs`).

fn main() -> std::process::ExitCode {
    sailkit::main()
}
