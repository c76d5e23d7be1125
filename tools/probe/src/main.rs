//! `sailkit-probe URL [TIMEOUT_MS]`: the health check inside every sailkit image.
//!
//! Docker runs it as `HEALTHCHECK CMD ["/sailkit-probe", "http://127.0.0.1:9080/health"]`. A
//! `FROM scratch` image has no shell and no curl, so the check is this small static binary:
//! one GET over plain HTTP/1.1, exit code 0 when the answer is 2xx, 1 for anything else (another
//! status, no answer within the timeout, a bad URL), with one line on stderr saying why, which
//! `docker inspect` shows in the health log.
//!
//! The probe only ever asks its own container, so the URL's host is an IP literal or
//! `localhost`: no name resolution, which keeps it small (it is in every image).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long the whole check may take, unless the second argument says otherwise. Docker's own
/// `--timeout` is 30 s by default; a service that needs more than this to answer is not healthy.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), timeout) = (args.next(), args.next()) else {
        eprintln!("usage: sailkit-probe URL [TIMEOUT_MS]");
        return ExitCode::from(2);
    };
    let timeout = match timeout.map(|ms| ms.parse::<u64>()) {
        None => DEFAULT_TIMEOUT,
        Some(Ok(ms)) => Duration::from_millis(ms),
        Some(Err(error)) => {
            eprintln!("sailkit-probe: TIMEOUT_MS: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sailkit-probe: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The timer is made inside the runtime, which it needs.
    match runtime.block_on(async { tokio::time::timeout(timeout, get(&url)).await }) {
        Ok(Ok(status)) if status.is_success() => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            eprintln!("sailkit-probe: {url} answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(reason)) => {
            eprintln!("sailkit-probe: {url}: {reason}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("sailkit-probe: {url}: no answer within {timeout:?}");
            ExitCode::FAILURE
        }
    }
}

/// The status of one GET of `url` (HTTP/1.1, one connection).
async fn get(url: &str) -> Result<hyper::StatusCode, String> {
    let uri: hyper::Uri = url.parse().map_err(|error| format!("not a URL: {error}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs are probed".to_owned());
    }
    let host = uri.host().unwrap_or_default();
    let ip = match host.trim_start_matches('[').trim_end_matches(']') {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        literal => literal
            .parse()
            .map_err(|_| format!("`{host}` is not an IP address or localhost"))?,
    };
    let address = SocketAddr::new(ip, uri.port_u16().unwrap_or(80));
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            hyper::header::HOST,
            uri.authority().map_or(host, |a| a.as_str()),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| error.to_string())?;
    Ok(response.status())
}
