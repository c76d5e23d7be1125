//! `sailkit proxy`: the mesh sidecar (`mesh-proxy`), run from this binary.
//!
//! Like `sailkit serve`, this makes one executable play every role, so `sailkit up` can start a
//! sidecar beside each instance without a second binary to build and find. The flags are
//! `mesh-proxy`'s own ([`mesh_proxy::Settings`]), and so is the start path
//! ([`mesh_proxy::start`]: the proxy's own runtime, bind, `--addr-file`, run, exit status 64 for
//! listeners that cannot be bound). Only what stops it is this binary's: Ctrl-C, SIGTERM or
//! (under the launcher) the end of stdin.

use std::process::ExitCode;

/// `sailkit proxy ...`, from the parsed flags to the exit code.
pub fn main(settings: mesh_proxy::Settings) -> ExitCode {
    common::telemetry::init();
    common::shutdown::exit_when_orphaned();
    let watch_stdin = std::env::var(common::shutdown::EXIT_ON_STDIN_EOF).is_ok_and(|v| v == "1");
    mesh_proxy::start(settings, "sailkit proxy", |shutdown| {
        common::shutdown::trigger_on_signals(shutdown, watch_stdin)
    })
}
