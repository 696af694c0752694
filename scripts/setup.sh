#!/usr/bin/env bash
# Install whatever Kumo needs and is missing: Debian packages, the Python virtualenv, the
# browser assets from npm. Quick when nothing is missing. Uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

APT_PACKAGES=(
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  libvirt-dev pkg-config gcc python3-dev python3-venv redis-server xsltproc chromium
  openssh-client openssl
  debian-installer-12-netboot-amd64
)
command -v node >/dev/null || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null || APT_PACKAGES+=(npm)

install_system_packages() {
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing system packages: ${missing[*]}"
  as_root apt-get update -q
  local available=()
  for package in "${missing[@]}"; do
    if apt-cache show "$package" >/dev/null 2>&1; then
      available+=("$package")
    else  # e.g. the Debian installer images on Ubuntu: the demo skips what it lacks
      say "Not in this system's archive, skipped: $package"
    fi
  done
  [ ${#available[@]} -eq 0 ] && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${available[@]}"
}

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  die "Kumo needs Python 3.11 or newer."
}

install_python_packages() {
  local stamp=.venv/.requirements.sha256 want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return
  say "Installing Python packages into .venv"
  [ -x .venv/bin/python ] || "$(pick_python)" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
}

build_browser_assets() {
  local stamp=node_modules/.package-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing browser packages from npm"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
  if [ ! -f static/dist/kumo.js ] || [ -n "$(find static/src "$stamp" -newer static/dist/kumo.js 2>/dev/null)" ]; then
    say "Building browser assets into static/dist"
    npm run --silent build --loglevel=error
  fi
}

# libvirt's system socket is for root and the libvirt group.
join_libvirt_group() {
  [ "$(id -u)" -eq 0 ] && return
  id -nG | tr ' ' '\n' | grep -qx libvirt && return
  say "Adding $(id -un) to the libvirt group (takes effect at your next login, or: newgrp libvirt)"
  as_root usermod -aG libvirt "$(id -un)"
}

install_system_packages
join_libvirt_group
install_python_packages
build_browser_assets
