#!/usr/bin/env bash
# Set up a development or CI machine: idempotent, safe to run again at any time.
#
# 1. .venv with Python 3.11+
# 2. torch==2.13.0 first: a CPU build of exactly that version lies on this machine's disk;
#    any other torch requirement would pull a multi-GB CUDA build from PyPI.
# 3. the project in editable mode with every extra, pinned by constraints.txt
# 4. the Debian packages the tests need, when missing
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
TORCH_VERSION=2.13.0

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

if ! "$PY" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    echo "setup: installing torch==$TORCH_VERSION (CPU build)"
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION"
fi

echo "setup: installing edgeward with extras all,dev (pinned by constraints.txt)"
# llama-cpp-python builds from source the first time (about 15 minutes on 2 cores; pip then
# caches the wheel); the multimodal part is not needed.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
"$PY" -m pip install --quiet --constraint constraints.txt --editable ".[all,dev]"
# amqtt pins typer==0.15.4, which breaks flwr's CLI: install it without its pins (its
# runtime dependencies are in the control extra; it uses typer only for its own CLI).
"$PY" -m pip install --quiet --no-deps --constraint constraints.txt amqtt

missing=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
# The dashboard's end-to-end tests drive a real headless Chromium through its driver.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: done"
