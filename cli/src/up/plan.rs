//! Which instances `sailkit up` starts, behind which service addresses, and the environment each
//! instance gets.
//!
//! This is the launcher's equivalent of the Deployment and Service manifests: one entry per
//! version of a service, the environment variables that make that version what it is, and the
//! VIPs in front of them. It is pure data, so a test can read it like a manifest.
//!
//! The **stage** picks the plan, and nothing else in `up` depends on it:
//! - [`Stage::Services`] (the default): the split stack, five services, eight instances, five
//!   VIPs ([`services`]);
//! - [`Stage::Monolith`]: the story's starting point, one `monolith` process serving the whole
//!   app behind the productpage VIP, the front door, so the URL to open is the same
//!   ([`monolith`]).
//!
//! `--extra ratings-v-faulty` ([`Extra`]) adds an instance to the split stack: a second
//! Deployment, labelled with its own version, so that a DestinationRule subset can select it and
//! the mesh's retries and outlier detection have a misbehaving instance to work on.
//!
//! How the instances find each other: every instance gets `<SVC>_HOSTNAME=127.0.0.1` and
//! `<SVC>_SERVICE_PORT=<VIP port>` for each service, the variables Bookinfo reads (and the ones
//! Kubernetes injects for Services). So productpage calls "reviews" at the reviews VIP, and never
//! knows how many reviews instances there are.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;

use crate::services::ServiceName;

/// Which shape of the app `sailkit up` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Stage {
    /// Every service its own process, behind one VIP per service.
    #[default]
    Services,
    /// The whole app in one process, one database: where the story starts.
    Monolith,
}

/// What `up` starts: the instances, and the VIPs that send them requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub stage: Stage,
    /// In start order (the order of the instance ports, too).
    pub instances: Vec<InstanceSpec>,
    /// One per service address, in port order; the first is the front door.
    pub vips: Vec<ServiceName>,
}

impl Plan {
    /// The plan of `stage`, with its data files in `data_dir`.
    pub fn for_stage(stage: Stage, data_dir: &Path) -> Self {
        match stage {
            Stage::Services => Self {
                stage,
                instances: services(data_dir),
                vips: ServiceName::ALL.to_vec(),
            },
            Stage::Monolith => Self {
                stage,
                instances: monolith(data_dir),
                vips: vec![ServiceName::Productpage],
            },
        }
    }

    /// The plan with `extras` started too, after the others (so the ports of the usual
    /// instances do not move). Only the split stack takes extras; the monolith has no versions.
    /// An extra named twice is started once.
    pub fn with_extras(mut self, extras: &[Extra]) -> Self {
        if self.stage != Stage::Services {
            return self;
        }
        for extra in extras {
            let spec = extra.spec();
            if !self.instances.iter().any(|i| i.name == spec.name) {
                self.instances.push(spec);
            }
        }
        self
    }

    /// What is being started, for the launcher's first line.
    pub fn describe(&self) -> String {
        match self.stage {
            Stage::Services => format!(
                "{} instances of {} services",
                self.instances.len(),
                self.vips.len()
            ),
            Stage::Monolith => "the monolith: one process for the whole app".to_string(),
        }
    }
}

/// One instance to run: a version of a service, like a Deployment with one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// `reviews-v2`: the service and version, also used as the pod name (`HOSTNAME`).
    pub name: String,
    /// What runs: `sailkit serve <service>`.
    pub service: ServiceName,
    pub version: &'static str,
    /// The VIP that sends it requests, as a Kubernetes Service selects its pods: the service
    /// itself in the split stack, productpage's for the monolith.
    pub vip: ServiceName,
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
            vip: service,
            env: env.to_vec(),
        }
    }
}

/// The eight instances of the split stack, in start order (the order of the ports, too).
///
/// The SQLite files live in `data_dir`, so that `rm -r data` is a full reset.
pub fn services(data_dir: &Path) -> Vec<InstanceSpec> {
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
        InstanceSpec::new(
            Banner,
            "v1",
            &[
                ("DATABASE_URL", sqlite("banner.db")),
                ("BANNER_ADMIN_PASSWORD_FILE", admin_password_env(data_dir)),
            ],
        ),
    ]
}

/// The versions each service of the split stack can run, by their `SERVICE_VERSION` (the `version`
/// label). Versions differ by environment only; reviews' three are all in the usual stack, so
/// what `--extra` can add is ratings' misbehaving variants.
pub fn versions(service: ServiceName) -> Vec<&'static str> {
    match service {
        ServiceName::Reviews => vec!["v1", "v2", "v3"],
        ServiceName::Ratings => ratings::config::Version::ALL
            .iter()
            .map(|v| v.name())
            .collect(),
        // details v2 (Bookinfo's external book service) is not implemented; the others have one.
        _ => vec!["v1"],
    }
}

/// An instance that `--extra` adds to the split stack: a version of a service that the usual
/// stack does not run, written `<service>-<version>` like the instance names
/// (`ratings-v-faulty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extra {
    pub service: ServiceName,
    pub version: &'static str,
}

impl Extra {
    /// Every instance `--extra` accepts: each version of each service, except those already in
    /// the usual stack.
    pub fn all() -> Vec<Extra> {
        let usual: Vec<String> = services(Path::new("data"))
            .into_iter()
            .map(|s| s.name)
            .collect();
        ServiceName::ALL
            .into_iter()
            .flat_map(|service| {
                versions(service)
                    .into_iter()
                    .map(move |version| Extra { service, version })
            })
            .filter(|e| !usual.contains(&e.name()))
            .collect()
    }

    /// The instance name: `ratings-v-faulty`.
    pub fn name(self) -> String {
        format!("{}-{}", self.service, self.version)
    }

    /// What to start. The extras are ratings variants, which need nothing besides
    /// `SERVICE_VERSION` (set by [`common_env`]): they keep their ratings in memory. Their
    /// `RATINGS_FAULT_*` settings, if any, come from the launcher's own environment, which every
    /// instance inherits.
    fn spec(self) -> InstanceSpec {
        InstanceSpec::new(self.service, self.version, &[])
    }
}

impl FromStr for Extra {
    type Err = String;

    /// Parses `<service>-<version>`, with an error that says what would be accepted.
    fn from_str(name: &str) -> Result<Self, String> {
        let all = Extra::all();
        if let Some(extra) = all.iter().find(|e| e.name() == name) {
            return Ok(*extra);
        }
        let accepted = all.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ");
        let (service, version) = name.split_once('-').unwrap_or((name, ""));
        let reason = match ServiceName::ALL.iter().find(|s| s.as_str() == service) {
            None => format!("no service is called `{service}`"),
            Some(&s) if !versions(s).contains(&version) => format!(
                "{s} has no version `{version}` (its versions: {})",
                versions(s).join(", ")
            ),
            Some(_) => format!("{name} is already in the stack"),
        };
        Err(format!(
            "{reason}; an extra instance is <service>-<version>, one of: {accepted}"
        ))
    }
}

/// The one instance of the monolith stage, named `monolith` (there is no other version of it),
/// behind the productpage VIP. Its one database is `monolith.db` in `data_dir`. It plays reviews
/// v2 and ratings v1, the monolith's own defaults.
pub fn monolith(data_dir: &Path) -> Vec<InstanceSpec> {
    let database = common::db::sqlite_url(&data_dir.join("monolith.db"));
    vec![InstanceSpec {
        name: "monolith".to_string(),
        service: ServiceName::Monolith,
        version: "v1",
        vip: ServiceName::Productpage,
        env: vec![
            ("DATABASE_URL", database),
            ("BANNER_ADMIN_PASSWORD_FILE", admin_password_env(data_dir)),
        ],
    }]
}

/// The file in the data directory that holds the banner admin's password.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// `BANNER_ADMIN_PASSWORD_FILE` for the instances that serve the banner admin pages.
fn admin_password_env(data_dir: &Path) -> String {
    data_dir.join(ADMIN_PASSWORD_FILE).display().to_string()
}

/// Creates `<data_dir>/admin-password` with a random password, readable by its owner only
/// (mode 0600), unless it exists already: the password stays the same from one start to the
/// next, and `rm data/admin-password` makes a new one. Returns the file's path.
///
/// The banner service reads the file itself (`BANNER_ADMIN_PASSWORD_FILE`), the way it would
/// read a Kubernetes or docker secret, so the password is never in a command line or in the
/// environment of a process that other users can inspect.
pub fn ensure_admin_password(data_dir: &Path) -> std::io::Result<PathBuf> {
    let path = data_dir.join(ADMIN_PASSWORD_FILE);
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(path),
        Err(e) => return Err(e),
    };
    writeln!(file, "{}", random_password()?)?;
    Ok(path)
}

/// 24 characters from 64 (letters, digits, `-`, `_`): 144 random bits, safe in a shell and in
/// `curl -u admin:PASSWORD`. Each random byte picks one of 64 characters, and 256 is a multiple
/// of 64, so every character is equally likely.
fn random_password() -> std::io::Result<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 64)]))
        .collect())
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
        let specs = services(Path::new("/srv/data"));
        let spec = specs.iter().find(|s| s.name == name).expect("planned");
        let vips = [(ServiceName::Reviews, 9082), (ServiceName::Ratings, 9083)];
        common_env(spec, &vips, Path::new("/srv/data/run/x.addr"), None)
            .into_iter()
            .collect()
    }

    #[test]
    fn the_stack_has_bookinfos_versions_plus_banner() {
        let names: Vec<_> = services(Path::new("data"))
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
        assert_eq!(
            env_of("banner-v1")["BANNER_ADMIN_PASSWORD_FILE"],
            "/srv/data/admin-password"
        );
        assert!(!env_of("ratings-v1").contains_key("DATABASE_URL"));
    }

    #[test]
    fn the_services_stage_puts_each_instance_behind_its_own_service() {
        let plan = Plan::for_stage(Stage::Services, Path::new("data"));
        assert_eq!(plan.vips, ServiceName::ALL);
        assert_eq!(
            plan.vips[0],
            ServiceName::Productpage,
            "the front door comes first"
        );
        assert!(plan.instances.iter().all(|i| i.vip == i.service));
        assert_eq!(plan.describe(), "8 instances of 5 services");
    }

    #[test]
    fn the_monolith_stage_is_one_process_behind_the_front_door() {
        let plan = Plan::for_stage(Stage::Monolith, Path::new("/srv/data"));
        assert_eq!(plan.vips, [ServiceName::Productpage]);
        let [only] = plan.instances.as_slice() else {
            panic!("one instance: {:?}", plan.instances);
        };
        assert_eq!(only.name, "monolith");
        assert_eq!(only.service, ServiceName::Monolith);
        assert_eq!(only.vip, ServiceName::Productpage);
        let env: HashMap<_, _> = common_env(only, &[], Path::new("/x.addr"), None)
            .into_iter()
            .collect();
        assert_eq!(
            env["DATABASE_URL"],
            "sqlite:///srv/data/monolith.db?mode=rwc"
        );
        assert_eq!(env["HOSTNAME"], "monolith");
    }

    #[test]
    fn an_extra_ratings_variant_is_started_last_with_its_own_version() {
        let faulty: Extra = "ratings-v-faulty".parse().expect("a ratings variant");
        let plan = Plan::for_stage(Stage::Services, Path::new("/srv/data")).with_extras(&[faulty]);
        assert_eq!(plan.instances.len(), 9);
        assert_eq!(plan.describe(), "9 instances of 5 services");
        // Last, so the usual instances keep their ports.
        assert_eq!(plan.instances[7].name, "banner-v1");
        let extra = &plan.instances[8];
        assert_eq!(extra.name, "ratings-v-faulty");
        assert_eq!(
            (extra.service, extra.version, extra.vip),
            (ServiceName::Ratings, "v-faulty", ServiceName::Ratings)
        );
        let env: HashMap<_, _> = common_env(extra, &[], Path::new("/x.addr"), None)
            .into_iter()
            .collect();
        assert_eq!(env["SERVICE_VERSION"], "v-faulty");
        assert_eq!(env["HOSTNAME"], "ratings-v-faulty");
        assert!(
            !env.contains_key("DATABASE_URL"),
            "the variants keep memory"
        );
    }

    #[test]
    fn extras_are_added_once_and_never_to_the_monolith() {
        let faulty: Extra = "ratings-v-faulty".parse().expect("valid");
        let delayed: Extra = "ratings-v-delayed".parse().expect("valid");
        let plan = Plan::for_stage(Stage::Services, Path::new("data"))
            .with_extras(&[faulty, delayed, faulty]);
        let names: Vec<_> = plan.instances[8..].iter().map(|i| &i.name).collect();
        assert_eq!(names, ["ratings-v-faulty", "ratings-v-delayed"]);
        let monolith = Plan::for_stage(Stage::Monolith, Path::new("data")).with_extras(&[faulty]);
        assert_eq!(monolith.instances.len(), 1);
    }

    #[test]
    fn the_extras_on_offer_are_the_ratings_variants_not_yet_running() {
        let names: Vec<_> = Extra::all().into_iter().map(Extra::name).collect();
        assert_eq!(
            names,
            [
                "ratings-v-faulty",
                "ratings-v-delayed",
                "ratings-v-unavailable",
                "ratings-v-unhealthy"
            ]
        );
    }

    #[test]
    fn a_wrong_extra_is_refused_with_the_reason_and_the_choices() {
        let error = |name: &str| name.parse::<Extra>().expect_err(name);
        let unknown = error("mongodb-v1");
        assert!(
            unknown.contains("no service is called `mongodb`"),
            "{unknown}"
        );
        assert!(unknown.contains("ratings-v-unhealthy"), "{unknown}");
        let version = error("ratings-v9");
        assert!(
            version.contains("ratings has no version `v9`")
                && version.contains("v1, v2, v-faulty, v-delayed, v-unavailable, v-unhealthy"),
            "{version}"
        );
        let details = error("details-v2");
        assert!(details.contains("details has no version `v2`"), "{details}");
        let running = error("reviews-v2");
        assert!(
            running.contains("reviews-v2 is already in the stack"),
            "{running}"
        );
        let bare = error("ratings");
        assert!(bare.contains("<service>-<version>"), "{bare}");
    }

    #[test]
    fn the_admin_password_is_made_once_and_kept_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = ensure_admin_password(dir.path()).expect("created");
        let password = std::fs::read_to_string(&path).expect("readable");
        let password = password.trim_end();
        assert!(password.len() >= 16, "{password}");
        assert!(
            password
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A second start keeps it.
        ensure_admin_password(dir.path()).expect("kept");
        assert_eq!(
            std::fs::read_to_string(&path).expect("readable").trim_end(),
            password
        );
    }
}
