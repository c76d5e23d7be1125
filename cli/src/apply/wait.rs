//! The last step of a change: wait until the proxies have it in force, and say what they did.
//! On a folder, the proxies of the running stack are polled on their admin port (`rollout.rs`);
//! through a control plane, it is asked which proxies ACKed the new version (`acks.rs`). Both
//! end in a [`Rollout`], printed here.

use std::path::Path;
use std::time::Instant;

use super::rollout::{self, Rollout};

/// Waits for the proxies of the stack running on `data_dir` to load the config folder `dir`
/// as it is now, and prints what they did.
pub fn wait_for_proxies(data_dir: &Path, version: &str, written: Instant) -> Result<(), String> {
    let Some(proxies) = rollout::proxies(data_dir) else {
        println!("no stack is running: the sidecars load it when they start");
        return Ok(());
    };
    if proxies.is_empty() {
        println!("the running stack has no sidecars (--no-mesh): nothing loads it");
        return Ok(());
    }
    report(
        rollout::wait(&proxies, version, written, rollout::DEADLINE),
        version,
    )
}

/// Prints what waiting found; an error when a proxy refused the config or some had not put it
/// in force by the deadline.
pub fn report(outcome: Rollout, version: &str) -> Result<(), String> {
    match outcome {
        Rollout::InForce { proxies, took } => {
            println!(
                "in force in all {proxies} proxies {:.1} s after it was written (config version {version})",
                took.as_secs_f64()
            );
            Ok(())
        }
        Rollout::Incomplete { in_force, missing } => {
            println!(
                "after {} s, {in_force} of {} proxies have it in force (config version {version}); not yet:",
                rollout::DEADLINE.as_secs(),
                in_force + missing.len()
            );
            for (name, why) in &missing {
                println!("  {name}: {why}");
            }
            Err("not in force in every proxy yet: see above".to_owned())
        }
        Rollout::Rejected { name, diagnostics } => Err(format!(
            "{name} refused the config it was checked with (the proxy and the checks disagree, \
             or the folder changed meanwhile):\n{diagnostics}"
        )),
    }
}
