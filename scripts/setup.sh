#!/usr/bin/env bash
# Sets up a fresh Debian 12 / Ubuntu machine for voicebox: system packages when missing, the
# virtual environment, llama-cpp-python from the local wheelhouse (built once), the project.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(build-essential cmake pkg-config git tmux espeak-ng sox portaudio19-dev libportaudio2
  kamailio kamailio-tls-modules sip-tester)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
wheelhouse=$(bash scripts/build-llama-wheel.sh)
.venv/bin/python -m pip install -q --find-links "$wheelhouse" "llama-cpp-python==0.3.36"
.venv/bin/python -m pip install -q --find-links "$wheelhouse" -e ".[dev]"
echo "python environment ready in .venv"
