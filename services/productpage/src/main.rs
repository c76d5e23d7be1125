//! The `productpage` binary: see the library docs.

fn main() -> std::process::ExitCode {
    common::service::main::<productpage::Productpage>()
}
