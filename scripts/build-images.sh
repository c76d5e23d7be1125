#!/usr/bin/env bash
# build-images.sh: the sailkit container images, one per deployable (docker/images.txt).
#
# Usage: scripts/build-images.sh [--from-source]
#
# Default (the way that works on a machine whose Docker engine can pull nothing):
#   1. builds every binary on the host, statically linked (the gnu target with
#      `-C target-feature=+crt-static`; names resolve in Rust, see netresolve), optimised for
#      size and stripped, in a target folder of its own, $SAILKIT_STATIC_TARGET_DIR (default
#      target/static), so it never thrashes the usual one;
#   2. copies them into a temporary build context with an empty data/ folder, and builds each
#      image `FROM scratch` from docker/Dockerfile.local (`--target <image>`).
# --from-source: builds each image from docker/Dockerfile instead (a public Rust builder image,
#   then scratch). It needs a Docker engine that can pull; docker/README.md gives the buildx
#   command for linux/amd64 and linux/arm64.
#
# Images are named ${SAILKIT_IMAGE_PREFIX:-sailkit}/<image>:${SAILKIT_TAG:-dev}. At the end it
# prints every image's size; an image of 20 MB or more fails the script (the issue's limit).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

prefix="${SAILKIT_IMAGE_PREFIX:-sailkit}"
tag="${SAILKIT_TAG:-dev}"
target_dir="${SAILKIT_STATIC_TARGET_DIR:-$root/target/static}"
triple=x86_64-unknown-linux-gnu
max_bytes=$((20 * 1000 * 1000))

step() { echo "==> $*" >&2; }
die() { echo "build-images.sh: $*" >&2; exit 1; }

from_source=false
case "${1:-}" in
  "") ;;
  --from-source) from_source=true ;;
  *) die "unknown argument '$1' (usage: scripts/build-images.sh [--from-source])" ;;
esac

# image and binary names, from the one list.
images=()
binaries=()
while read -r image binary _health; do
  [[ -z "$image" || "$image" == \#* ]] && continue
  images+=("$image")
  binaries+=("$binary")
done < docker/images.txt

if $from_source; then
  for image in "${images[@]}"; do
    step "docker build --target $image (from source)"
    docker build -f docker/Dockerfile --target "$image" -t "$prefix/$image:$tag" .
  done
else
  step "building the static binaries in $target_dir"
  package_args=()
  # Each binary is built by the package of the same name.
  for package in "${binaries[@]}" sailkit-probe; do
    package_args+=(-p "$package")
  done
  # Optimised for size: the release profile with opt-level s, one codegen unit and fat LTO,
  # without symbols, not position-independent (a static binary loads at one address). The
  # `sailkit` CLI, which links every part of the kit, is 32 MB with the plain release profile
  # and 17 MB so; the services get smaller too (benchmarks use their own profiles).
  RUSTFLAGS='-C target-feature=+crt-static -C relocation-model=static' \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=fat \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_TARGET_DIR="$target_dir" \
    cargo build --release --locked --target "$triple" "${package_args[@]}"
  out="$target_dir/$triple/release"

  context="$(mktemp -d)"
  trap 'rm -rf "$context"' EXIT
  for binary in "${binaries[@]}" sailkit-probe; do
    cp "$out/$binary" "$context/"
  done
  # The writable folder every image gets (/data), and the control plane's config folder in it.
  mkdir -p "$context/data/config"
  for image in "${images[@]}"; do
    step "docker build --target $image"
    docker build --quiet -f docker/Dockerfile.local --target "$image" -t "$prefix/$image:$tag" "$context" >/dev/null
  done
fi

echo
printf '%-34s %10s\n' IMAGE SIZE
too_big=()
for image in "${images[@]}"; do
  name="$prefix/$image:$tag"
  bytes="$(docker image inspect --format '{{.Size}}' "$name")"
  awk -v name="$name" -v bytes="$bytes" 'BEGIN { printf "%-34s %7.1f MB\n", name, bytes / 1000000 }'
  ((bytes < max_bytes)) || too_big+=("$name")
done
((${#too_big[@]} == 0)) || die "over 20 MB: ${too_big[*]}"
