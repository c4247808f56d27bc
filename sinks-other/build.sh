#!/usr/bin/env bash
# Builds one non-Rust sink into a component:
#
#   bash sinks-other/build.sh <c|python|js|go> <sink-dir> <out.wasm> [wit-dir]
#
# Tools come from $CONDUIT_TOOLS_DIR (default ~/.cache/conduit-wasm/tools, as for
# sinks-other/install-tools.sh and the scaffolds; `cargo xtask` passes <repo>/target/tools). Intermediate files go to $CONDUIT_SINKS_BUILD_DIR (default
# <repo>/target/sinks-build). `cargo xtask build-sinks` calls this for every sinks-other/<lang>/<sink>.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -ge 3 ] || { echo "usage: build.sh <c|python|js|go> <sink-dir> <out.wasm> [wit-dir]" >&2; exit 2; }
lang=$1
src=$(cd "$2" && pwd)
out=$(mkdir -p "$(dirname "$3")" && cd "$(dirname "$3")" && pwd)/$(basename "$3")
wit=$(cd "${4:-$root/wit}" && pwd)
tools=${CONDUIT_TOOLS_DIR:-$HOME/.cache/conduit-wasm/tools}
work=${CONDUIT_SINKS_BUILD_DIR:-$root/target/sinks-build}/$lang/$(basename "$src")
mkdir -p "$work"

need() { [ -e "$1" ] || { echo "build.sh: $1 is missing: run bash sinks-other/install-tools.sh${2:-}" >&2; exit 1; }; }

case $lang in
  python)
    # componentize-py: the WIT world exports an interface (`sink`), which it needs (a world that
    # exported a bare function named `close` would clash with libc's).
    need "$tools/venv/bin/componentize-py"
    (cd "$work" && "$tools/venv/bin/componentize-py" -d "$wit" -w sink-component \
      componentize app -p "$src" -o "$out")
    ;;
  js)
    # componentize-js (StarlingMonkey) without AOT: weval would download a binary.
    need "$tools/node/node_modules/@bytecodealliance/componentize-js"
    CONDUIT_TOOLS_DIR="$tools" node "$here/js/build.mjs" "$src" "$out" "$wit"
    ;;
  c)
    # wit-bindgen c → zig cc (wasm32-wasi, reactor) → component with the preview1 reactor adapter.
    need "$tools/bin/conduit-sink-build"
    need "$tools/venv/bin/python"
    "$tools/bin/conduit-sink-build" c-bindings "$wit" "$work/bindings" --world sink-component 2>/dev/null
    # zig keeps its cache under $ZIG_GLOBAL_CACHE_DIR (default ~/.cache/zig).
    export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$tools/zig-cache}
    "$tools/venv/bin/python" -m ziglang cc --target=wasm32-wasi -mexec-model=reactor -O2 -s \
      -Wall -Wextra -Werror -I "$work/bindings" -I "$src" \
      "$src"/*.c "$work/bindings/sink_component.c" "$work/bindings/sink_component_component_type.o" \
      -o "$work/core.wasm"
    "$tools/bin/conduit-sink-build" component-new "$work/core.wasm" "$out" --adapter reactor
    ;;
  go)
    need "$tools/go-venv/bin/go" " --go"
    CONDUIT_TOOLS_DIR="$tools" bash "$here/go/build-go.sh" "$src" "$out" "$wit" "$work"
    ;;
  *)
    echo "build.sh: unknown language $lang (c, python, js, go)" >&2
    exit 2
    ;;
esac
echo "$out: $(wc -c < "$out") bytes" >&2
