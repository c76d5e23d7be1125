#!/usr/bin/env bash
# fuzz.sh: build the mesh's fuzz targets (fuzz/) and run each one briefly with cargo-fuzz.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  how long libFuzzer runs each target (default 60)
#   TARGET              only these targets (default: every target in fuzz/Cargo.toml)
#
# Environment (all optional):
#   FUZZ_SANITIZER=none   cargo-fuzz's --sanitizer: none (default: our code forbids `unsafe`, and
#                         builds and runs are faster without one) or address
#   FUZZ_JOBS=1           libFuzzer -fork workers per target (1: one plain process)
#
# The toolchain is stable; cargo-fuzz needs nightly-only compiler flags, so RUSTC_BOOTSTRAP=1
# lets stable rustc accept them. cargo-fuzz is installed first if missing.
#
# Corpora grow in fuzz/corpus/<target>/ (git-ignored; delete them at will). Seeds:
#   config_load   every k8s/networking/*.yaml and fuzz/seeds/config_load/* (anchors, aliases,
#                 merge keys, alias bombs), read in place (never copied, never written)
#   request_path  a few hand-written requests, written to its corpus directory on each run
# A crash stops the script with a non-zero status; the input is in fuzz/artifacts/<target>/, and
# `cargo fuzz run <target> <that file>` (with the same environment) replays it. docs/fuzzing.md
# has the details.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
shift || true
sanitizer="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo fuzz list)
  # One build for every target: the shared dependencies are compiled once, both cores busy.
  echo "==> building ${targets[*]}"
  cargo fuzz build --sanitizer "$sanitizer"
fi

# Hand-written requests for request_path: one per kind of route in its table, so libFuzzer
# starts from requests hyper accepts instead of having to discover HTTP first.
seed_requests() {
  local dir=fuzz/corpus/request_path
  mkdir -p "$dir"
  printf 'GET http://reviews:9080/reviews/0 HTTP/1.1\r\nHost: reviews:9080\r\n\r\n' >"$dir/seed-get"
  printf 'GET /reviews/1 HTTP/1.1\r\nHost: reviews\r\nend-user: jason\r\n\r\n' >"$dir/seed-fault"
  printf 'GET /old/path?x=1 HTTP/1.1\r\nHost: reviews\r\n\r\n' >"$dir/seed-redirect"
  printf 'POST /reviews/7?debug=1 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\nx-user: a\r\ncookie: c=1\r\n\r\nhello' >"$dir/seed-rewrite"
  printf 'POST /rewrite HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' >"$dir/seed-chunked"
  printf 'GET /undefined-subset HTTP/1.1\r\nHost: reviews\r\n\r\nGET /nothing HTTP/1.1\r\nHost: reviews\r\n\r\n' >"$dir/seed-pipelined"
  printf 'GET / HTTP/1.1\r\nHost: details:9080\r\nConnection: close\r\n\r\n' >"$dir/seed-no-virtual-service"
  printf 'GET / HTTP/1.0\r\n\r\n' >"$dir/seed-no-host"
  printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' >"$dir/seed-h2-preface"
}

for target in "${targets[@]}"; do
  corpus=(fuzz/corpus/"$target")
  mkdir -p "${corpus[0]}"
  case "$target" in
    config_load) corpus+=(k8s/networking fuzz/seeds/config_load) ;;
    request_path) seed_requests ;;
  esac
  # -close_fd_mask=1: the targets' standard output (the access log) is closed; reports go to stderr.
  flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1 -close_fd_mask=1)
  [[ -f fuzz/dict/"$target".dict ]] && flags+=(-dict=fuzz/dict/"$target".dict)
  ((jobs > 1)) && flags+=(-fork="$jobs")
  echo "==> fuzzing $target for ${seconds}s (sanitizer: $sanitizer)"
  cargo fuzz run --sanitizer "$sanitizer" "$target" "${corpus[@]}" -- "${flags[@]}"
done
