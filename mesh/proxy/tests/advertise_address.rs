//! The address a proxy registers with the control plane: `--advertise-address` (an IP, or a
//! name it resolves), and without it, for a listener on 0.0.0.0 (a container), the address of
//! the machine's host name, never 0.0.0.0. A fake control plane records the Register.

#[path = "support/fake_control_plane.rs"]
#[allow(dead_code)] // this file only reads what the proxy sends
mod fake_control_plane;
mod support;

use std::net::SocketAddr;

use fake_control_plane::FakeControlPlane;
use mesh_api::v1::proxy_message::Kind;
use mesh_proxy::settings::HostPort;
use support::{Mesh, upstream};
use tokio::net::TcpListener;

/// A sidecar for `reviews-v2` in front of `app`, its inbound listener bound to `inbound_ip`
/// (port 0); returns it with the inbound listener's address.
async fn start_proxy(
    url: &str,
    app: SocketAddr,
    inbound_ip: &str,
    advertise: Option<HostPort>,
) -> (Mesh, SocketAddr) {
    let bind = |ip: &str| TcpListener::bind(format!("{ip}:0"));
    let outbound = bind("127.0.0.1").await.expect("bind");
    let admin = bind("127.0.0.1").await.expect("bind");
    let inbound = bind(inbound_ip).await.expect("bind");
    let address = |l: &TcpListener| l.local_addr().expect("address");
    let (outbound_addr, admin_addr, inbound_addr) =
        (address(&outbound), address(&admin), address(&inbound));
    let settings = mesh_proxy::Settings {
        control_plane: Some(url.to_owned()),
        labels: vec![
            ("app".to_owned(), "reviews".to_owned()),
            ("version".to_owned(), "v2".to_owned()),
        ],
        inbound: Some(inbound_addr),
        app: Some(app),
        advertise_address: advertise,
        ..support::settings(outbound_addr, admin_addr)
    };
    let listeners = mesh_proxy::Listeners {
        outbound,
        admin,
        inbound: Some(inbound),
    };
    let shutdown = support::spawn(settings, listeners);
    let dir = tempfile::tempdir().expect("temp dir");
    (
        Mesh::attach(dir, outbound_addr, admin_addr, shutdown),
        inbound_addr,
    )
}

/// The address of the first Register a proxy started with these flags sends, and its inbound
/// listener's address.
async fn registered_with(inbound_ip: &str, advertise: Option<HostPort>) -> (String, SocketAddr) {
    let fake = FakeControlPlane::start().await;
    let app = upstream("reviews-v2").await;
    let (_mesh, inbound) = start_proxy(&fake.url(), app.addr, inbound_ip, advertise).await;
    let address = fake
        .wait_for("a Register", |kind| match kind {
            Kind::Register(register) => Some(register.address.clone()),
            _ => None,
        })
        .await;
    (address, inbound)
}

fn host_port(host: &str, port: u16) -> Option<HostPort> {
    Some(HostPort {
        host: host.to_owned(),
        port,
    })
}

#[tokio::test]
async fn an_advertised_ip_is_registered_as_given() {
    let (address, _) = registered_with("127.0.0.1", host_port("10.1.2.3", 15006)).await;
    assert_eq!(address, "10.1.2.3:15006");
}

#[tokio::test]
async fn an_advertised_name_is_registered_as_its_address() {
    let (address, _) = registered_with("127.0.0.1", host_port("localhost", 15006)).await;
    assert_eq!(address, "127.0.0.1:15006");
}

#[tokio::test]
async fn a_listener_on_every_interface_registers_the_host_names_address_not_0_0_0_0() {
    let (address, inbound) = registered_with("0.0.0.0", None).await;
    let address: SocketAddr = address.parse().expect("an IP:PORT");
    // This machine's host name resolves (through /etc/hosts) as a container's does.
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    let expected = netresolve::Resolver::system()
        .lookup_one(host_name.trim(), inbound.port())
        .await
        .expect("the host name resolves");
    assert!(!address.ip().is_unspecified(), "{address}");
    assert_eq!(address, expected);
}

#[tokio::test]
async fn a_listener_on_one_address_registers_it_unchanged() {
    let (address, inbound) = registered_with("127.0.0.1", None).await;
    assert_eq!(address, inbound.to_string());
}
