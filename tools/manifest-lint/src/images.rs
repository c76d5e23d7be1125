//! Which images the manifests may run: the ones `docker/` builds, read from
//! `docker/images.txt` (the list `scripts/build-images.sh` builds from), plus the third-party
//! images `docker/third-party/build.sh` makes, under the prefix `sailkit/` (or the ones a user
//! gives, for images pushed elsewhere), and any image a user allows by name.

use std::collections::BTreeSet;

/// The images of `docker/third-party/build.sh`: built by us from Debian packages, not pulled.
pub const THIRD_PARTY: &[&str] = &["postgres", "prometheus"];

/// The prefix the images are built with (`sailkit/productpage:dev`).
pub const DEFAULT_PREFIX: &str = "sailkit";

#[derive(Debug, Clone, Default)]
pub struct ImagePolicy {
    /// Repositories (`sailkit/productpage`), any tag or digest.
    repositories: BTreeSet<String>,
    /// Patterns a user allowed: a repository, or a prefix ending in `*`.
    allowed: Vec<String>,
}

impl ImagePolicy {
    /// The images named in `images_txt` (first column of each line that is not a comment) and
    /// the third-party ones, under each prefix.
    pub fn from_images_txt(images_txt: &str, prefixes: &[String]) -> Self {
        let names = images_txt
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_whitespace().next())
            .chain(THIRD_PARTY.iter().copied());
        let mut repositories = BTreeSet::new();
        for name in names {
            for prefix in prefixes {
                let prefix = prefix.trim_end_matches('/');
                repositories.insert(format!("{prefix}/{name}"));
            }
        }
        ImagePolicy {
            repositories,
            allowed: Vec::new(),
        }
    }

    /// Also allows `pattern`: an image's repository (`redis`, `ghcr.io/me/app`), or a prefix
    /// of one ending in `*` (`registry.example.com/shop/*`).
    pub fn allow(&mut self, pattern: &str) {
        self.allowed.push(normalize(repository(pattern)).to_owned());
    }

    pub fn permits(&self, image: &str) -> bool {
        let repository = normalize(repository(image));
        self.repositories.contains(repository)
            || self
                .allowed
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => repository.starts_with(prefix),
                    None => pattern == repository,
                })
    }

    /// The repositories built, for a message.
    pub fn repositories(&self) -> impl Iterator<Item = &str> {
        self.repositories.iter().map(String::as_str)
    }
}

/// `registry:5000/a/b:tag@sha256:...` → `registry:5000/a/b`: the tag is after the last `:`
/// that follows the last `/` (a registry's port comes before it).
pub fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].find(':') {
        Some(colon) => &image[..name_start + colon],
        None => image,
    }
}

/// Docker Hub's own names for the same repository: `docker.io/sailkit/x` is `sailkit/x`.
fn normalize(repository: &str) -> &str {
    repository
        .strip_prefix("docker.io/")
        .or_else(|| repository.strip_prefix("index.docker.io/"))
        .unwrap_or(repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGES_TXT: &str = "# comment\nproductpage    productpage    http://x\ncli sailkit -\n";

    #[test]
    fn repositories_drop_tags_and_digests_but_keep_registry_ports() {
        assert_eq!(repository("sailkit/reviews:dev"), "sailkit/reviews");
        assert_eq!(repository("sailkit/reviews@sha256:ab"), "sailkit/reviews");
        assert_eq!(
            repository("localhost:5000/sailkit/reviews"),
            "localhost:5000/sailkit/reviews"
        );
        assert_eq!(repository("localhost:5000/r:1.2"), "localhost:5000/r");
    }

    #[test]
    fn built_third_party_and_allowed_images() {
        let mut policy = ImagePolicy::from_images_txt(IMAGES_TXT, &[DEFAULT_PREFIX.into()]);
        assert!(policy.permits("sailkit/productpage:dev"));
        assert!(policy.permits("docker.io/sailkit/cli"));
        assert!(policy.permits("sailkit/postgres:15"));
        assert!(!policy.permits("sailkit/comment"));
        assert!(!policy.permits("productpage"));
        assert!(!policy.permits("redis:7"));
        policy.allow("redis");
        policy.allow("registry.example.com/shop/*");
        assert!(policy.permits("redis:7"));
        assert!(policy.permits("registry.example.com/shop/productpage:1.2"));
        assert!(!policy.permits("registry.example.com/other/productpage"));
    }

    #[test]
    fn another_prefix_is_the_same_images_pushed_elsewhere() {
        let prefixes = ["ghcr.io/me/".to_owned()];
        let policy = ImagePolicy::from_images_txt(IMAGES_TXT, &prefixes);
        assert!(policy.permits("ghcr.io/me/productpage:v2"));
        assert!(!policy.permits("sailkit/productpage:dev"));
    }
}
