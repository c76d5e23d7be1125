//! The version of a set of config files: what names a configuration wherever it is loaded.
//!
//! A sidecar loading a folder, `sailkit apply` after writing one, and the control plane sending
//! a snapshot all compute it the same way, so equal versions mean the same files with the same
//! contents, whoever computed them.

use sha2::{Digest, Sha256};

/// The first 16 hex digits of the SHA-256 of each file's name and bytes, in the order given
/// (load order: sorted by name).
pub fn config_version<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut digest = Sha256::new();
    for (name, bytes) in files {
        // Lengths first, so that no two different sets can give the same stream of bytes.
        digest.update((name.len() as u64).to_le_bytes());
        digest.update(name.as_bytes());
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
    digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_contents_both_count_and_cannot_be_shifted_between() {
        let one = config_version([("a.yaml", b"x: 1".as_slice())]);
        assert_eq!(one.len(), 16);
        assert_eq!(one, config_version([("a.yaml", b"x: 1".as_slice())]));
        assert_ne!(one, config_version([("b.yaml", b"x: 1".as_slice())]));
        assert_ne!(
            config_version([("ab", b"c".as_slice())]),
            config_version([("a", b"bc".as_slice())])
        );
        assert_eq!(config_version(std::iter::empty()).len(), 16);
    }
}
