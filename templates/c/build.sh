#!/usr/bin/env bash
# Builds {{name}}.wasm: C bindings from wit/ (`wit-bindgen c`, 0.63), zig cc for wasm32-wasi
# (reactor), then a component with the WASI preview1 reactor adapter.
#
# Tools: $CONDUIT_TOOLS_DIR (default ~/.cache/conduit-wasm/tools), as installed by
#   bash <conduit-wasm>/sinks-other/install-tools.sh   (its default directory is this one)
# (ziglang 0.17.1 from PyPI in venv/, and bin/conduit-sink-build, which does `wit-bindgen c` and
# `wasm-tools component new --adapt` with wasmtime 48's reactor adapter).
set -euo pipefail
cd "$(dirname "$0")"
tools=${CONDUIT_TOOLS_DIR:-$HOME/.cache/conduit-wasm/tools}
for t in "$tools/bin/conduit-sink-build" "$tools/venv/bin/python"; do
  [ -x "$t" ] || { echo "build.sh: $t not found: install the tools (see the top of this file)" >&2; exit 1; }
done
mkdir -p build
"$tools/bin/conduit-sink-build" c-bindings wit build --world sink-component 2>/dev/null
export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$tools/zig-cache}
"$tools/venv/bin/python" -m ziglang cc --target=wasm32-wasi -mexec-model=reactor -O2 -s \
  -Wall -Wextra -I build ./*.c build/sink_component.c build/sink_component_component_type.o \
  -o build/core.wasm
"$tools/bin/conduit-sink-build" component-new build/core.wasm {{name}}.wasm --adapter reactor
echo "built {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)"
