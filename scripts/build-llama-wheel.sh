#!/usr/bin/env bash
# Builds llama-cpp-python once per CPU flavour into a wheelhouse outside the checkout, so that
# repeated set-ups (and CI in a fresh clone on the same machine) skip the ~8 minute build.
# The local wheel is built for this CPU (-march=native); set GGML_NATIVE=OFF for a wheel that
# leaves the machine (build-image.sh does).
set -euo pipefail
version="${LLAMA_CPP_VERSION:-0.3.36}"
native="${GGML_NATIVE:-ON}"
flags_hash=$(grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-12)
if [ "$native" = "OFF" ]; then flavour="portable"; else flavour="native-$flags_hash"; fi
wheelhouse="${VOICEBOX_WHEELHOUSE:-$HOME/.cache/voicebox/wheels}/$flavour"
mkdir -p "$wheelhouse"
if ls "$wheelhouse"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
  echo "$wheelhouse"
  exit 0
fi
echo "building llama-cpp-python $version ($flavour), about 8 minutes on 2 cores" >&2
tmp=$(mktemp -d "$wheelhouse/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
CMAKE_ARGS="-DGGML_NATIVE=$native ${CMAKE_ARGS:-}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  python3 -m pip wheel --no-deps --no-binary llama-cpp-python -w "$tmp" "llama-cpp-python==$version" >&2
mv "$tmp"/llama_cpp_python-*.whl "$wheelhouse"/
echo "$wheelhouse"
