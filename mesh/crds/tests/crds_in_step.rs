//! The committed CRD files are the ones the model types generate today. After a model change,
//! `UPDATE_CRDS=1 cargo test -p mesh-crds --test crds_in_step` rewrites them.

use std::fs;
use std::path::{Path, PathBuf};

use mesh_crds::render::{self, CRDS_DIR, UPDATE_COMMAND};
use similar::TextDiff;

fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CRDS_DIR)
}

fn generated() -> Vec<(String, String)> {
    render::files(&mesh_crds::crds()).expect("the CRDs render")
}

/// What differs between the files in `dir` and `files`: a unified diff per changed file, and
/// the files missing or left over.
fn differences(dir: &Path, files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in files {
        match fs::read_to_string(dir.join(name)) {
            Ok(committed) if committed == *text => {}
            Ok(committed) => found.push(
                TextDiff::from_lines(&committed, text)
                    .unified_diff()
                    .context_radius(2)
                    .header(
                        &format!("{name} (committed)"),
                        &format!("{name} (generated)"),
                    )
                    .to_string(),
            ),
            Err(error) => found.push(format!("{name}: not committed ({error})")),
        }
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !files.iter().any(|(generated, _)| *generated == name) {
            found.push(format!("{name}: not generated any more (remove it)"));
        }
    }
    found
}

/// Write `files` into `dir`, removing the files that are no longer generated.
fn update(dir: &Path, files: &[(String, String)]) {
    fs::create_dir_all(dir).expect("create the CRD folder");
    for entry in fs::read_dir(dir).expect("read the CRD folder").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !files.iter().any(|(generated, _)| *generated == name) {
            fs::remove_file(entry.path()).expect("remove a stale CRD file");
        }
    }
    for (name, text) in files {
        fs::write(dir.join(name), text).expect("write a CRD file");
    }
}

#[test]
fn crds_are_in_step() {
    let (dir, files) = (crds_dir(), generated());
    if std::env::var_os("UPDATE_CRDS").is_some() {
        update(&dir, &files);
        return;
    }
    let found = differences(&dir, &files);
    assert!(
        found.is_empty(),
        "the CRDs in {CRDS_DIR} are not what the model types generate:\n{}\nUpdate them with: {UPDATE_COMMAND}",
        found.join("\n")
    );
}

#[test]
fn a_changed_missing_or_stale_file_is_reported_with_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = generated();
    update(dir.path(), &files);
    assert!(differences(dir.path(), &files).is_empty());

    let (changed, text) = &files[0];
    fs::write(
        dir.path().join(changed),
        text.replace("type: string", "type: integer"),
    )
    .expect("change a file");
    fs::remove_file(dir.path().join(render::KUSTOMIZATION)).expect("remove a file");
    fs::write(dir.path().join("old.yaml"), "kind: Old\n").expect("leave a stale file");

    let found = differences(dir.path(), &files).join("\n");
    assert!(
        found.contains(&format!("--- {changed} (committed)")),
        "{found}"
    );
    let lines: Vec<&str> = found.lines().collect();
    let has = |sign: char, end: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(sign) && l.ends_with(end))
    };
    assert!(
        has('-', "type: integer") && has('+', "type: string"),
        "{found}"
    );
    assert!(
        found.contains("kustomization.yaml: not committed"),
        "{found}"
    );
    assert!(
        found.contains("old.yaml: not generated any more"),
        "{found}"
    );
}

#[test]
fn one_file_per_crd_named_after_it_and_listed_by_the_kustomization() {
    let files = generated();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "virtualservices.networking.istio.io.yaml",
            "destinationrules.networking.istio.io.yaml",
            "gateways.networking.istio.io.yaml",
            "serviceentries.networking.istio.io.yaml",
            "kustomization.yaml",
        ]
    );
    let (_, kustomization) = files.last().expect("the kustomization");
    assert!(
        kustomization.contains("kind: Kustomization\n"),
        "{kustomization}"
    );
    for name in &names[..4] {
        assert!(
            kustomization.contains(&format!("  - {name}\n")),
            "{kustomization}"
        );
    }
    for (name, text) in &files {
        assert!(
            text.starts_with("# Generated from mesh-config's model types"),
            "{name}"
        );
        assert!(text.contains(UPDATE_COMMAND), "{name}");
    }
}

#[test]
fn each_committed_file_reads_back_as_the_crd_it_was_made_from() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    for crd in mesh_crds::crds() {
        let name = render::file_name(&crd).expect("a name");
        let text = fs::read_to_string(crds_dir().join(&name)).expect("the committed file");
        let read: CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(
            read == crd,
            "{name} does not read back as the generated CRD"
        );
    }
}
