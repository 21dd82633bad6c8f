#!/usr/bin/env bash
# Installs the Debian packages the netns lab needs. Idempotent: does nothing when every tool is
# already there. Needs root (apt-get); the lab itself needs root too.
set -euo pipefail

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
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all lab tools present (ip, iptables, conntrack, redis-server, mariadbd, curl, openssl, setpriv, chromium)"
  exit 0
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
echo "setup: done"
