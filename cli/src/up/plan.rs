//! Which instances `sailkit up` starts, and the environment each one gets.
//!
//! This is the launcher's equivalent of the Deployment manifests: one entry per version of a
//! service, and the environment variables that make that version what it is. It is pure data,
//! so a test can read it like a manifest.
//!
//! How the instances find each other: every instance gets `<SVC>_HOSTNAME=127.0.0.1` and
//! `<SVC>_SERVICE_PORT=<VIP port>` for each service, the variables Bookinfo reads (and the ones
//! Kubernetes injects for Services). So productpage calls "reviews" at the reviews VIP, and never
//! knows how many reviews instances there are.

use std::path::Path;

use crate::services::ServiceName;

/// One instance to run: a version of a service, like a Deployment with one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// `reviews-v2`: the service and version, also used as the pod name (`HOSTNAME`).
    pub name: String,
    pub service: ServiceName,
    pub version: &'static str,
    /// The variables that make this version what it is (`ENABLE_RATINGS`, `STAR_COLOR`,
    /// `DATABASE_URL`, ...), on top of [`common_env`].
    pub env: Vec<(&'static str, String)>,
}

impl InstanceSpec {
    fn new(service: ServiceName, version: &'static str, env: &[(&'static str, String)]) -> Self {
        Self {
            name: format!("{service}-{version}"),
            service,
            version,
            env: env.to_vec(),
        }
    }
}

/// The eight instances of the stack, in start order (the order of the ports, too).
///
/// The SQLite files live in `data_dir`, so that `rm -r data` is a full reset.
pub fn instances(data_dir: &Path) -> Vec<InstanceSpec> {
    use ServiceName::*;
    let sqlite = |file: &str| common::db::sqlite_url(&data_dir.join(file));
    let off = || "false".to_string();
    let on = || "true".to_string();
    vec![
        InstanceSpec::new(Productpage, "v1", &[]),
        InstanceSpec::new(Details, "v1", &[]),
        // The three reviews versions differ only by configuration, as in Bookinfo's images.
        InstanceSpec::new(Reviews, "v1", &[("ENABLE_RATINGS", off())]),
        InstanceSpec::new(
            Reviews,
            "v2",
            &[("ENABLE_RATINGS", on()), ("STAR_COLOR", "black".into())],
        ),
        InstanceSpec::new(
            Reviews,
            "v3",
            &[("ENABLE_RATINGS", on()), ("STAR_COLOR", "red".into())],
        ),
        // ratings v1 keeps its ratings in memory, v2 reads them from a database.
        InstanceSpec::new(Ratings, "v1", &[]),
        InstanceSpec::new(Ratings, "v2", &[("DATABASE_URL", sqlite("ratings.db"))]),
        InstanceSpec::new(Banner, "v1", &[("DATABASE_URL", sqlite("banner.db"))]),
    ]
}

/// Everything an instance is started with, besides its port (the first argument):
/// - identity: `SERVICE_VERSION`, and `HOSTNAME` as the pod name reviews reports;
/// - where to listen: `BIND_ADDRESS=127.0.0.1`, nothing is reachable from other machines;
/// - where its peers are: `<SVC>_HOSTNAME` and `<SVC>_SERVICE_PORT` for every service's VIP;
/// - how to stop: `SAILKIT_EXIT_ON_STDIN_EOF=1` (the launcher holds the other end of stdin, so
///   if it dies, even from SIGKILL, its children notice and stop);
/// - where to report its address: `SAILKIT_ADDR_FILE`, read by the launcher, which is how an
///   instance started on port 0 tells which port it got;
/// - `RUST_LOG`: the launcher's own, or `info`.
pub fn common_env(
    spec: &InstanceSpec,
    vip_ports: &[(ServiceName, u16)],
    addr_file: &Path,
    rust_log: Option<String>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("SERVICE_VERSION".to_string(), spec.version.to_string()),
        ("HOSTNAME".to_string(), spec.name.clone()),
        ("BIND_ADDRESS".to_string(), "127.0.0.1".to_string()),
    ];
    for (service, port) in vip_ports {
        let prefix = service.env_prefix();
        env.push((format!("{prefix}_HOSTNAME"), "127.0.0.1".to_string()));
        env.push((format!("{prefix}_SERVICE_PORT"), port.to_string()));
    }
    env.push((common::shutdown::EXIT_ON_STDIN_EOF.to_string(), "1".into()));
    env.push((
        common::service::ADDR_FILE.to_string(),
        addr_file.display().to_string(),
    ));
    env.push((
        "RUST_LOG".to_string(),
        rust_log.unwrap_or_else(|| "info".to_string()),
    ));
    env.extend(spec.env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(name: &str) -> HashMap<String, String> {
        let specs = instances(Path::new("/srv/data"));
        let spec = specs.iter().find(|s| s.name == name).expect("planned");
        let vips = [(ServiceName::Reviews, 9082), (ServiceName::Ratings, 9083)];
        common_env(spec, &vips, Path::new("/srv/data/run/x.addr"), None)
            .into_iter()
            .collect()
    }

    #[test]
    fn the_stack_has_bookinfos_versions_plus_banner() {
        let names: Vec<_> = instances(Path::new("data"))
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "productpage-v1",
                "details-v1",
                "reviews-v1",
                "reviews-v2",
                "reviews-v3",
                "ratings-v1",
                "ratings-v2",
                "banner-v1"
            ]
        );
    }

    #[test]
    fn reviews_versions_differ_by_ratings_and_star_colour() {
        let v1 = env_of("reviews-v1");
        assert_eq!(v1["ENABLE_RATINGS"], "false");
        let v2 = env_of("reviews-v2");
        assert_eq!(
            (&*v2["ENABLE_RATINGS"], &*v2["STAR_COLOR"]),
            ("true", "black")
        );
        let v3 = env_of("reviews-v3");
        assert_eq!(
            (&*v3["ENABLE_RATINGS"], &*v3["STAR_COLOR"]),
            ("true", "red")
        );
        assert_eq!(v3["SERVICE_VERSION"], "v3");
        assert_eq!(v3["HOSTNAME"], "reviews-v3");
    }

    #[test]
    fn peers_are_reached_through_their_vips() {
        let env = env_of("reviews-v2");
        assert_eq!(env["RATINGS_HOSTNAME"], "127.0.0.1");
        assert_eq!(env["RATINGS_SERVICE_PORT"], "9083");
        assert_eq!(env["BIND_ADDRESS"], "127.0.0.1");
        assert_eq!(env["SAILKIT_EXIT_ON_STDIN_EOF"], "1");
        assert_eq!(env["SAILKIT_ADDR_FILE"], "/srv/data/run/x.addr");
        assert_eq!(env["RUST_LOG"], "info");
    }

    #[test]
    fn databases_are_sqlite_files_in_the_data_dir() {
        assert_eq!(
            env_of("ratings-v2")["DATABASE_URL"],
            "sqlite:///srv/data/ratings.db?mode=rwc"
        );
        assert_eq!(env_of("ratings-v2")["SERVICE_VERSION"], "v2");
        assert!(env_of("banner-v1")["DATABASE_URL"].ends_with("/srv/data/banner.db?mode=rwc"));
        assert!(!env_of("ratings-v1").contains_key("DATABASE_URL"));
    }
}
