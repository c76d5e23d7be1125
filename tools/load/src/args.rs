//! The command line of `sailkit load`, and the parsers that turn a bad value into a usage error.
//!
//! Everything that can be checked without the network is checked here, by clap: a URL that is
//! not `http://`, a header without a colon, zero connections, `-n` together with `-t`. clap then
//! prints the problem with the usage line and exits with code 2, before anything is sent.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Uri};

use super::duration;

/// How long a run lasts when neither `-n` nor `-t` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Args)]
#[command(after_help = AFTER_HELP)]
pub struct LoadArgs {
    /// The URL to call: http://HOST[:PORT][/PATH][?QUERY].
    #[arg(value_name = "URL", value_parser = parse_url)]
    pub url: Uri,

    /// Connections opened to the target; each one sends a request, waits for the whole answer,
    /// sends the next (HTTP/1.1 keep-alive). With --http2, see --streams.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,

    /// Requests per second over the whole run, spread over the connections on a fixed
    /// schedule. 0 means as fast as the target answers.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = parse_qps)]
    pub qps: f64,

    /// How long to send requests for, such as 30s or 1m [default: 5s].
    #[arg(short = 't', long, value_name = "DURATION", value_parser = duration::parse,
          conflicts_with = "requests")]
    pub duration: Option<Duration>,

    /// Send exactly N requests in total, then stop (instead of a duration).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,

    /// Speak HTTP/2 without TLS ("h2c" with prior knowledge), as gRPC and proxies do between
    /// them. One HTTP/2 connection per -c.
    #[arg(long)]
    pub http2: bool,

    /// With --http2: requests in flight at once on each connection (HTTP/2 streams), so the
    /// concurrency is connections x streams.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "http2",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub streams: u32,

    /// A request header, "Name: value"; repeat the flag for several. A Host header replaces
    /// the URL's host in what is sent (HTTP/2: the :authority).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<Header>,

    /// The request method.
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET", value_parser = parse_method)]
    pub method: Method,

    /// The request body, sent with every request.
    #[arg(long, value_name = "STRING", conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Read the request body from a file (read once, sent with every request).
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,

    /// Give up on a request (and count a timeout) when its whole answer has not arrived
    /// within this time.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = duration::parse)]
    pub timeout: Duration,

    /// Worker threads of the generator [default: one per CPU core]. 1 runs everything on one
    /// thread, the cheapest when the generator is pinned to one core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// Print the result as JSON on stdout, and nothing else.
    #[arg(long)]
    pub json: bool,

    /// Also write the result as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json_file: Option<PathBuf>,

    /// Print only the result: no start line, no progress.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Show progress every second on stderr even when it is not a terminal (never with --json
    /// or -q).
    #[arg(long)]
    pub progress: bool,
}

/// One `-H "Name: value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: HeaderValue,
}

const AFTER_HELP: &str = "\
With --qps, requests are due on a fixed schedule; a request sent late because every connection
was still waiting for a slow answer has its latency counted from its due time, so the stall is
counted in the later requests too (no \"coordinated omission\"). Otherwise, and at full speed
(--qps 0), latency runs from the moment the request is sent.

Exit code: 0 when the run completed and at least one answer came back, whatever its status
code; 1 when not a single request got an answer (the target is down: the errors are reported)
or the host does not resolve; 2 for a mistake on the command line.

Examples:
  sailkit load -c 2 --qps 0 -n 20 http://127.0.0.1:9080/productpage
  sailkit load -c 16 --qps 1000 -t 30s --json http://127.0.0.1:9082/reviews/0
  sailkit load --http2 -c 2 --streams 8 -H 'end-user: jason' http://127.0.0.1:9080/productpage";

/// Accepts only `http://` URLs with a host; says why anything else is refused.
fn parse_url(text: &str) -> Result<Uri, String> {
    if !text.contains("://") {
        return Err(format!("`{text}` has no scheme; write http://{text}"));
    }
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(
                "https is not supported: the load generator does not speak TLS yet; use an \
                 http:// URL"
                    .to_string(),
            );
        }
        Some(other) => return Err(format!("`{other}://` is not supported; use an http:// URL")),
        None => return Err(format!("`{text}` has no scheme")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{text}` has no host"));
    }
    Ok(uri)
}

fn parse_header(text: &str) -> Result<Header, String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a header: write \"Name: value\""))?;
    let name = HeaderName::try_from(name.trim())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::try_from(value.trim())
        .map_err(|_| format!("the value of header `{name}` has characters a header cannot hold"))?;
    Ok(Header { name, value })
}

/// Methods are case-sensitive in HTTP; `-X post` is taken to mean POST, as people mean it.
fn parse_method(text: &str) -> Result<Method, String> {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{text}` is not an HTTP method"))
}

fn parse_qps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(qps) if qps.is_finite() && qps >= 0.0 => Ok(qps),
        _ => Err(format!(
            "`{text}` is not a rate: give requests per second, 0 or more (0: as fast as possible)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_with_a_host_are_accepted() {
        assert!(parse_url("http://127.0.0.1:9080/productpage?u=normal").is_ok());
        assert!(
            parse_url("https://example.com/")
                .expect_err("tls")
                .contains("TLS")
        );
        assert!(
            parse_url("127.0.0.1:9080/")
                .expect_err("scheme")
                .contains("no scheme")
        );
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn headers_need_a_name_a_colon_and_a_value() {
        let header = parse_header("end-user:  jason ").expect("valid");
        assert_eq!(header.name, "end-user");
        assert_eq!(header.value, "jason");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("x-empty:").is_ok());
    }

    #[test]
    fn methods_are_upper_cased_and_rates_are_not_negative() {
        assert_eq!(parse_method("post"), Ok(Method::POST));
        assert_eq!(parse_qps("0"), Ok(0.0));
        assert_eq!(parse_qps("12.5"), Ok(12.5));
        assert!(parse_qps("-1").is_err());
        assert!(parse_qps("fast").is_err());
    }
}
