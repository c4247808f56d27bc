#!/usr/bin/env bash
# Builds {{name}}.wasm with componentize-js 0.23.0 (jco 1.35.0's engine), without AOT.
#
# Tools: $CONDUIT_TOOLS_DIR/node (default ~/.cache/conduit-wasm/tools), as installed by
#   bash <conduit-wasm>/sinks-other/install-tools.sh   (its default directory is this one)
set -euo pipefail
cd "$(dirname "$0")"
tools=${CONDUIT_TOOLS_DIR:-$HOME/.cache/conduit-wasm/tools}
[ -d "$tools/node/node_modules/@bytecodealliance/componentize-js" ] ||
  { echo "build.sh: componentize-js not found under $tools/node: install the tools (see the top of this file)" >&2; exit 1; }
CONDUIT_TOOLS_DIR="$tools" node build.mjs
echo "built {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)"
