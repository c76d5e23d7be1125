#!/usr/bin/env bash
# The docs check: runs the console blocks of README.md and the walkthrough chapters, in order,
# as a reader would in two terminals, and compares what they print with what the text shows.
# Chapter 04 needs Docker and the images (scripts/build-images.sh, docker/third-party/build.sh).
# How it works and how to write a doc it can check: docs/checked-docs.md.
#
# Usage: scripts/check-docs.sh [--keep-going] [FILE...]
#   FILE        README.md or a walkthrough chapter (a chapter runs the chapters before it too)
#   --keep-going  report every block that differs, not only the first
# Needs ports 9080-9090 and 9100-9108 free, and no data/ directory (it starts fresh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --quiet -p check-docs -- "$@"
