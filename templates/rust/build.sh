#!/usr/bin/env bash
# Builds {{name}}.wasm: an ordinary Rust build for wasm32-wasip2 links straight into a component.
# Needs `rustup target add wasm32-wasip2` once.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --target wasm32-wasip2 --release
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate_name}}.wasm" {{name}}.wasm
echo "built {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)"
