//! The `monolith` binary: see the library docs.

fn main() -> std::process::ExitCode {
    common::service::main::<monolith::Monolith>()
}
