#!/usr/bin/env bash
# Installs the real servers the example tests talk to: redis-server and MariaDB. Idempotent:
# apt runs only when a binary is missing, and `apt-get update` at most once. Needs root (or
# sudo) only in that case. Debian/Ubuntu; elsewhere install the same packages by hand.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have redis-server || missing+=(redis-server)
# mariadb-install-db sets up the throwaway server's data dir; it ships with mariadb-server.
{ have mariadbd && have mariadb-install-db; } || missing+=(mariadb-server)

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-peers: redis-server and mariadbd already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "install-peers: need root to install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# --no-install-recommends keeps it to the servers; policy-rc.d-less containers may print a
# note about not starting services, which is what we want: the tests start their own.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

have redis-server || { echo "install-peers: redis-server still missing" >&2; exit 1; }
have mariadbd || { echo "install-peers: mariadbd still missing" >&2; exit 1; }
echo "install-peers: done"
