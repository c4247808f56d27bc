#!/usr/bin/env bash
# Builds {{name}}.wasm with componentize-py 0.25.1 (from PyPI).
#
# Tools: $CONDUIT_TOOLS_DIR/venv (default ~/.cache/conduit-wasm/tools), as installed by
#   bash <conduit-wasm>/sinks-other/install-tools.sh   (its default directory is this one)
# or any environment with `pip install componentize-py==0.25.1` (then set COMPONENTIZE_PY).
set -euo pipefail
cd "$(dirname "$0")"
tools=${CONDUIT_TOOLS_DIR:-$HOME/.cache/conduit-wasm/tools}
cpy=${COMPONENTIZE_PY:-$tools/venv/bin/componentize-py}
[ -x "$cpy" ] || { echo "build.sh: $cpy not found: install the tools (see the top of this file)" >&2; exit 1; }
"$cpy" -d wit -w sink-component componentize app -p . -o {{name}}.wasm
echo "built {{name}}.wasm ($(wc -c < {{name}}.wasm) bytes)"
