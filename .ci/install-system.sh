#!/usr/bin/env bash
# Installs the system packages Andes' tests need on a bare Debian bookworm machine (run as root):
# Mesa's lavapipe Vulkan driver from bookworm-backports (bookworm's Mesa 22.3 is too old for Dawn)
# and Debian's Chromium for the headless-browser WebGPU tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Reuse the mirror and components of the existing bookworm entry (deb822 or one-line style).
  src=$(grep -rls -E '(^Suites:.*\bbookworm\b|^deb .*\sbookworm\s)' /etc/apt/sources.list /etc/apt/sources.list.d/ | head -n1 || true)
  uri=http://deb.debian.org/debian
  components=main
  if [ -n "$src" ] && grep -q '^URIs:' "$src"; then
    uri=$(awk '/^URIs:/{print $2; exit}' "$src")
    components=$(awk '/^Components:/{ $1=""; sub(/^ /,""); print; exit}' "$src")
  elif [ -n "$src" ]; then
    line=$(grep -m1 -E '^deb .*\sbookworm\s' "$src")
    uri=$(echo "$line" | awk '{print $2}')
    components=$(echo "$line" | cut -d' ' -f4-)
  fi
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: %s\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$components" > /etc/apt/sources.list.d/bookworm-backports.sources
fi

need_update=1
have_mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [[ "$have_mesa" != 25.* ]] || ! command -v chromium >/dev/null; then
  apt-get update -qq
  need_update=0
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
  apt-get install -y -qq chromium libvulkan1 >/dev/null
fi
# fastText's CLI: the peer that @andes/data's fastText model reader is tested against.
if ! command -v fasttext >/dev/null; then
  if [ "$need_update" = 1 ]; then apt-get update -qq; fi
  apt-get install -y -qq fasttext >/dev/null
fi
echo "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), $(chromium --version 2>/dev/null)"
