//! `--gateway`: the proxy as Bookinfo's ingress gateway, with `k8s/networking/bookinfo-gateway.yaml`
//! as Istio applies it. Outside clients call it directly (origin form, any `Host`).

mod support;

use support::{Mesh, echo_upstream, flags, scenario, upstream};

/// GET `path` on the gateway's listener as an outside client: (status, flags, body).
async fn get(mesh: &Mesh, path: &str) -> (u16, String, String) {
    let response = mesh
        .direct
        .get(format!("http://{}{path}", mesh.outbound))
        .send()
        .await
        .expect("request to the gateway");
    let status = response.status().as_u16();
    let flags = flags(response.headers());
    (status, flags, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_gateway_routes_what_its_virtual_service_routes_and_nothing_else() {
    let productpage = echo_upstream().await;
    let reviews = upstream("reviews-v1").await;
    // Bookinfo's Gateway declares port 8080: the gateway stands for it.
    let mesh = Mesh::start_gateway(
        "bookinfo-gateway",
        8080,
        &[
            ("productpage", vec![(productpage.addr, "v1")]),
            ("reviews", vec![(reviews.addr, "v1")]),
        ],
        &[("bookinfo-gateway.yaml", scenario("bookinfo-gateway.yaml"))],
    )
    .await;

    // The five matches of the `bookinfo` VirtualService reach productpage, path untouched.
    for path in [
        "/productpage",
        "/static/tailwind/tailwind.css",
        "/login",
        "/logout",
        "/api/v1/products/0",
    ] {
        let (status, flags, body) = get(&mesh, path).await;
        assert_eq!((status, flags.as_str()), (200, ""), "{path}: {body}");
        assert!(
            body.starts_with(&format!("GET {path} ")),
            "{path} reached productpage as is: {body}"
        );
    }

    // Anything else matches no rule: 404 NR, answered by the gateway itself.
    for path in ["/", "/productpage/extra", "/reviews/0"] {
        let (status, flags, _) = get(&mesh, path).await;
        assert_eq!((status, flags.as_str()), (404, "NR"), "{path}");
    }

    // A service by name is no way in either: the gateway has no default route, unlike a
    // sidecar, which would send `Host: reviews` to reviews.
    let (status, flags, _) = mesh.get("http://reviews:9080/reviews/0", None).await;
    assert_eq!((status, flags.as_str()), (404, "NR"));
    assert_eq!(reviews.hits(), 0);
}

#[tokio::test]
async fn mesh_and_gateway_virtual_services_stay_apart() {
    let productpage = echo_upstream().await;
    let reviews = upstream("reviews-v1").await;
    let services = [
        ("productpage", vec![(productpage.addr, "v1")]),
        ("reviews", vec![(reviews.addr, "v1")]),
    ];
    let files = [
        ("bookinfo-gateway.yaml", scenario("bookinfo-gateway.yaml")),
        (
            "virtual-service-all-v1.yaml",
            scenario("virtual-service-all-v1.yaml"),
        ),
        (
            "destination-rule-all.yaml",
            scenario("destination-rule-all.yaml"),
        ),
    ];

    // A sidecar ignores the VirtualService bound to the gateway: `/productpage` to productpage
    // is its mesh route (all-v1), and reviews answers as ever.
    let sidecar = Mesh::start(&services, &files).await;
    let (status, _, body) = sidecar
        .get("http://productpage:9080/productpage", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = sidecar.get("http://reviews:9080/reviews/0", None).await;
    assert_eq!((status, body.as_str()), (200, "reviews-v1"));

    // The gateway ignores the mesh's VirtualServices: all-v1 routes `reviews`, but not here.
    let gateway = Mesh::start_gateway("bookinfo-gateway", 8080, &services, &files).await;
    let (status, flags, _) = gateway.get("http://reviews:9080/reviews/0", None).await;
    assert_eq!((status, flags.as_str()), (404, "NR"));
    let (status, _, _) = get(&gateway, "/productpage").await;
    assert_eq!(status, 200);

    // A gateway no VirtualService is bound to lets nothing in.
    let other = Mesh::start_gateway("other-gateway", 8080, &services, &files).await;
    let (status, flags, _) = get(&other, "/productpage").await;
    assert_eq!((status, flags.as_str()), (404, "NR"));

    // Nor does a gateway standing for a port the Gateway has no server on (it declares 8080).
    let elsewhere = Mesh::start_gateway("bookinfo-gateway", 443, &services, &files).await;
    let hits = productpage.hits();
    let (status, flags, _) = get(&elsewhere, "/productpage").await;
    assert_eq!((status, flags.as_str()), (404, "NR"));
    assert_eq!(productpage.hits(), hits, "nothing reached productpage");
}
