#!/usr/bin/env bash
# Builds the third-party images the compose files use, PostgreSQL 15 and Prometheus, from
# Debian's packages, on a machine that can reach a Debian mirror but no image registry:
#
#   debootstrap --variant=minbase bookworm ROOT MIRROR   a minimal Debian root filesystem
#   chroot ROOT apt-get install PACKAGE                  the server, from Debian
#   docker import --change USER/ENTRYPOINT/HEALTHCHECK   the root filesystem as an image
#
# The mirror is the one apt on this machine uses, read from its sources at run time. An image
# that already exists is kept (the engine keeps images between runs): delete it to rebuild.
#
# Usage: docker/third-party/build.sh [postgres|prometheus]...   (both by default; run as root)
# Names: POSTGRES_IMAGE (default sailkit/postgres:15), PROMETHEUS_IMAGE (sailkit/prometheus:bookworm).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
POSTGRES_IMAGE="${POSTGRES_IMAGE:-sailkit/postgres:15}"
PROMETHEUS_IMAGE="${PROMETHEUS_IMAGE:-sailkit/prometheus:bookworm}"
SUITE=bookworm

# The first Debian archive (not the security one) in apt's sources: deb822 `URIs:` lines or
# one-line `deb URI SUITE` entries.
debian_mirror() {
    local files=() file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$file" ]] && files+=("$file")
    done
    [[ ${#files[@]} -gt 0 ]] || return 0
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }
         /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "${files[@]}" \
        | grep -v security | head -n 1 || true
}

# Makes a minimal root filesystem in $1 with the packages $2... installed, then trims what a
# server does not need (apt's lists, docs, man pages, locales).
make_root() {
    local root="$1"
    shift
    local mirror
    mirror="$(debian_mirror)"
    [[ -n "$mirror" ]] || { echo "no Debian mirror found in apt's sources" >&2; exit 1; }
    debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 \
        || { tail -n 20 "$root.log" >&2; exit 1; }
    # No service starts inside the chroot while packages install.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" apt-get install -y -q --no-install-recommends "$@" >>"$root.log" 2>&1 \
        || { tail -n 20 "$root.log" >&2; exit 1; }
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
        "$root"/usr/share/locale/* "$root"/usr/share/info/* "$root/usr/sbin/policy-rc.d"
}

# Imports the root filesystem $2 as image $1, with the Dockerfile instructions that follow.
import_root() {
    local image="$1" root="$2"
    shift 2
    local changes=()
    for change in "$@"; do changes+=(--change "$change"); done
    tar -C "$root" -c . | docker import "${changes[@]}" - "$image" >/dev/null
}

build_postgres() {
    local root="$1/postgres"
    make_root "$root" postgresql-15
    # The package's own cluster is not used: the entrypoint makes one in the volume.
    rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"
    # Nor is JIT compilation (the entrypoint sets jit=off): LLVM and its solver are 150 MB of
    # the image.
    rm -rf "$root"/usr/lib/*-linux-gnu/libLLVM-* "$root"/usr/lib/*-linux-gnu/libz3.so* \
        "$root"/usr/lib/postgresql/15/lib/llvmjit* "$root/usr/lib/postgresql/15/lib/bitcode"
    install -m 755 "$here/postgres-entrypoint.sh" "$root/usr/local/bin/postgres-entrypoint"
    local uid gid
    uid="$(chroot "$root" id -u postgres)"
    gid="$(chroot "$root" id -g postgres)"
    # Owned by postgres in the image, so a new named volume mounted there is too.
    install -d -m 700 -o "$uid" -g "$gid" "$root/var/lib/postgresql/data"
    install -d -m 2775 -o "$uid" -g "$gid" "$root/var/run/postgresql"
    install -d -m 755 "$root/docker-entrypoint-initdb.d"
    local bin=/usr/lib/postgresql/15/bin
    # No STOPSIGNAL here (docker import does not take it): the compose files give postgres
    # `stop_signal: SIGINT`, its fast shutdown; SIGTERM would wait for every client to leave.
    import_root "$POSTGRES_IMAGE" "$root" \
        "USER postgres" \
        "ENV PATH=$bin:/usr/local/bin:/usr/bin:/bin PGDATA=/var/lib/postgresql/data" \
        "VOLUME /var/lib/postgresql/data" \
        "EXPOSE 5432" \
        'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' \
        "HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=30 CMD [\"$bin/pg_isready\", \"-q\", \"-h\", \"127.0.0.1\"]"
}

build_prometheus() {
    local root="$1/prometheus"
    make_root "$root" prometheus
    # Not needed by the server: promtool (46 MB), and the 210 MB of time zone data files beside
    # moment-timezone's scripts (the web UI loads a script that has its data inside).
    rm -rf "$root/usr/bin/promtool" "$root/usr/share/javascript/moment-timezone/data"
    local uid
    uid="$(chroot "$root" id -u prometheus)"
    install -d -m 755 -o "$uid" "$root/prometheus"
    # bash's /dev/tcp is the health probe: the image has no HTTP client.
    local probe='exec 3<>/dev/tcp/127.0.0.1/9090 && printf "GET /-/ready HTTP/1.0\r\n\r\n" >&3 && head -n 1 <&3 | grep -q " 200 "'
    import_root "$PROMETHEUS_IMAGE" "$root" \
        "USER prometheus" \
        "WORKDIR /prometheus" \
        "VOLUME /prometheus" \
        "EXPOSE 9090" \
        'ENTRYPOINT ["/usr/bin/prometheus"]' \
        'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
        "HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=15 CMD [\"/bin/bash\", \"-c\", $(printf '%s' "$probe" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]"
}

main() {
    local wanted=("$@")
    [[ ${#wanted[@]} -gt 0 ]] || wanted=(postgres prometheus)
    [[ $(id -u) -eq 0 ]] || { echo "debootstrap and chroot need root" >&2; exit 1; }
    command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
    work="$(mktemp -d /tmp/sailkit-third-party.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    for name in "${wanted[@]}"; do
        local image
        case "$name" in
            postgres) image="$POSTGRES_IMAGE" ;;
            prometheus) image="$PROMETHEUS_IMAGE" ;;
            *) echo "unknown image '$name' (postgres or prometheus)" >&2; exit 64 ;;
        esac
        if docker image inspect "$image" >/dev/null 2>&1; then
            echo "$image: already built, kept"
            continue
        fi
        local start=$SECONDS
        "build_$name" "$work"
        local size
        size="$(docker image inspect --format '{{.Size}}' "$image")"
        echo "$image: built in $((SECONDS - start)) s, $((size / 1000000)) MB"
    done
}

main "$@"
