//! The [`Resolver`]: IP literals, `localhost`, then hickory (hosts file, DNS).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

/// Why a name has no address.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve `{host}`: {reason}")]
    Lookup { host: String, reason: String },
    // The URL itself is left out of these two: it may hold a password.
    #[error("the URL has no host to resolve")]
    NoHost,
    #[error("not a URL: {reason}")]
    BadUrl { reason: String },
}

/// Resolves host names without glibc: see the crate documentation for the order.
///
/// Cheap to clone (clones share hickory's state); answers are not cached (see `build`). Create
/// it inside the tokio runtime that will use it: hickory's connections to the name servers are
/// tasks of that runtime.
#[derive(Clone)]
pub struct Resolver {
    dns: TokioResolver,
}

impl Resolver {
    /// The machine's configuration: `/etc/hosts`, then the name servers of `/etc/resolv.conf`.
    /// Without a readable `/etc/resolv.conf` only literals, `localhost` and `/etc/hosts` resolve.
    pub fn system() -> Resolver {
        let (config, options) = match hickory_resolver::system_conf::read_system_conf() {
            Ok(system) => system,
            Err(error) => {
                tracing::debug!(%error, "no usable /etc/resolv.conf: names resolve from /etc/hosts only");
                (
                    ResolverConfig::from_parts(None, vec![], vec![]),
                    ResolverOpts::default(),
                )
            }
        };
        Self::build(config, options)
    }

    /// Asks only the DNS servers at `servers` (UDP, any port), not `/etc/hosts`: for tests, and
    /// for anyone who wants one server whatever the machine says.
    pub fn with_name_servers(servers: &[SocketAddr]) -> Resolver {
        let servers = servers
            .iter()
            .map(|server| {
                let mut config = NameServerConfig::udp(server.ip());
                for connection in &mut config.connections {
                    connection.port = server.port();
                }
                config
            })
            .collect();
        let mut options = ResolverOpts::default();
        options.use_hosts_file = ResolveHosts::Never;
        options.timeout = Duration::from_secs(2);
        options.attempts = 1;
        Self::build(ResolverConfig::from_parts(None, vec![], servers), options)
    }

    fn build(config: ResolverConfig, mut options: ResolverOpts) -> Resolver {
        // No caching of answers: Docker's DNS gives a name with several containers (compose's
        // `reviews` alias on three services) in a new order at each query, which is its round
        // robin; a cached answer (Docker says 600 s) would send every new connection to the
        // same container. The name server is local, so a query per connection costs little.
        options.positive_max_ttl = Some(Duration::ZERO);
        let dns = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build();
        // Building only fails for settings this crate never uses (TLS, DNSSEC); an empty
        // configuration is the fallback so that literals and `localhost` keep working.
        let dns = dns.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot build the DNS resolver: names will not resolve");
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], vec![]),
                TokioRuntimeProvider::default(),
            )
            .build()
            .expect("an empty resolver configuration always builds")
        });
        Resolver { dns }
    }

    /// Every address of `host` (a name, an IP literal, or `[v6]`), each with `port`: the IPv4
    /// ones first, each family in a random order.
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let lowercase = host.trim_end_matches('.').to_ascii_lowercase();
        if lowercase == "localhost" || lowercase.ends_with(".localhost") {
            return Ok(vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ]);
        }
        let found = self
            .dns
            .lookup_ip(host)
            .await
            .map_err(|error| ResolveError::Lookup {
                host: host.to_owned(),
                reason: error.to_string(),
            })?;
        let mut addresses: Vec<SocketAddr> =
            found.iter().map(|ip| SocketAddr::new(ip, port)).collect();
        if addresses.is_empty() {
            return Err(ResolveError::Lookup {
                host: host.to_owned(),
                reason: "no address".to_owned(),
            });
        }
        // Connectors try the addresses in order, so the first one gets the connection. Docker's
        // DNS rotates them, but not every server does (nor a hosts file): shuffling here makes
        // a name with several addresses spread its connections whatever answered. IPv4 comes
        // first (a stable sort keeps the shuffle within each family), as in `lookup_one`.
        fastrand::shuffle(&mut addresses);
        addresses.sort_by_key(SocketAddr::is_ipv6);
        Ok(addresses)
    }

    /// The first address of `host`, IPv4 first when it has both (the mesh registers one
    /// address per instance, and Docker's networks are IPv4 unless asked otherwise).
    pub async fn lookup_one(&self, host: &str, port: u16) -> Result<SocketAddr, ResolveError> {
        let addresses = self.lookup(host, port).await?;
        let first_v4 = addresses.iter().find(|address| address.is_ipv4());
        Ok(*first_v4.unwrap_or(&addresses[0]))
    }

    /// `url` with its host replaced by the address it resolves to, for clients that would
    /// otherwise call `getaddrinfo` themselves (sqlx's PostgreSQL driver). A URL whose host is
    /// already an IP literal, or whose `host=` parameter overrides it (a PostgreSQL socket
    /// folder, as the tests use), comes back unchanged.
    pub async fn pin_url_host(&self, url: &str) -> Result<String, ResolveError> {
        let mut parsed = url::Url::parse(url).map_err(|error| ResolveError::BadUrl {
            reason: error.to_string(),
        })?;
        if parsed
            .query_pairs()
            .any(|(key, _)| key == "host" || key == "hostaddr")
        {
            return Ok(url.to_owned());
        }
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or(ResolveError::NoHost)?
            .to_owned();
        let address = self.lookup_one(&host, 0).await?;
        parsed
            .set_ip_host(address.ip())
            .map_err(|()| ResolveError::BadUrl {
                reason: "its scheme cannot take an IP host".to_owned(),
            })?;
        Ok(parsed.to_string())
    }
}

/// [`Resolver::lookup_one`] with the system configuration, for synchronous code (a command's
/// argument checks). It runs its own small runtime on a thread of its own, so it works whether
/// or not the caller is inside a tokio runtime (where a second one cannot block).
pub fn lookup_blocking(host: &str, port: u16) -> Result<SocketAddr, ResolveError> {
    let failed = |reason: String| ResolveError::Lookup {
        host: host.to_owned(),
        reason,
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| {
                        failed(format!("cannot start the resolver's runtime: {error}"))
                    })?;
                runtime.block_on(async { Resolver::system().lookup_one(host, port).await })
            })
            .join()
            .unwrap_or_else(|_| Err(failed("the resolver's thread panicked".to_owned())))
    })
}
