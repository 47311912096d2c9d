#!/usr/bin/env bash
# Installs the Debian packages weir needs to build, test and run, if missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsimgrid-dev libuv1-dev libcmocka-dev libyaml-dev libmicrohttpd-dev
  lcov libfaketime
  kcat librdkafka-dev curl
  valgrind chromium
  python3-confluent-kafka python3-kafka nodejs
)
# npm comes inside NodeSource's nodejs; Debian's nodejs needs the npm package
# (which conflicts with NodeSource's)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "weir: installing ${missing[*]}" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
