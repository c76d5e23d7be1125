//! Generates the Rust types and gRPC stubs from `proto/sailkit/mesh/v1/mesh.proto`.
//!
//! The `.proto` is parsed by protox, a protobuf compiler written in Rust, so building the kit
//! needs no `protoc` installed; tonic-prost-build then writes the code into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/sailkit/mesh/v1/mesh.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
