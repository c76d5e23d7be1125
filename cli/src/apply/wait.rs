//! Step 4 of `sailkit apply`: wait until the proxies of the running stack have the new files
//! in force, and say what they did (the polling itself is `rollout.rs`).

use std::path::Path;
use std::time::Instant;

use super::files::config_files;
use super::rollout::{self, Rollout};

/// Step 4: wait for the proxies of the stack running on `data_dir`, and print what they did.
/// An error when a proxy refused the files or some had not loaded them by the deadline.
pub fn wait_for_proxies(data_dir: &Path, dir: &Path, written: Instant) -> Result<(), String> {
    let Some(proxies) = rollout::proxies(data_dir) else {
        println!("no stack is running: the sidecars load it when they start");
        return Ok(());
    };
    if proxies.is_empty() {
        println!("the running stack has no sidecars (--no-mesh): nothing loads it");
        return Ok(());
    }
    let version = rollout::expected_version(&config_files(dir)?)?;
    match rollout::wait(&proxies, &version, written, rollout::DEADLINE) {
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
            "{name} refused the files (they changed after they were checked):\n{diagnostics}"
        )),
    }
}
