//! `sailkit apply --list`: the resources in force, one a line, with the file of each.

use std::path::Path;

use super::files::config_files;

/// Prints the resources in force in `dir`, one a line, with their file.
pub fn list(dir: &Path) -> Result<(), String> {
    let files = config_files(dir)?;
    if files.is_empty() {
        println!(
            "no mesh config in {}: default routing (round robin over every instance)",
            dir.display()
        );
        return Ok(());
    }
    let loaded = mesh_config::load_files(&files);
    for diagnostic in &loaded.diagnostics {
        println!("{diagnostic}");
    }
    for resource in &loaded.resources {
        println!(
            "{:<16} {:<24} {}",
            resource.kind().as_str(),
            format!("{}/{}", resource.namespace(), resource.metadata.name),
            resource.source.file
        );
    }
    Ok(())
}
