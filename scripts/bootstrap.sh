#!/usr/bin/env bash
# Set up evalbatch on a fresh Debian 12 machine; safe to run again (fast when everything is in place).
#   - Debian packages: redis-server, postgresql, postgresql-15-postgis-3, chromium (browser tests), curl and jq (the documented curl examples) (apt-get update only when one is missing)
#   - .venv with Python >= 3.11 and `pip install -e '.[dev,local]'` (skipped while pyproject.toml is unchanged)
# The local stack (`evalbatch up`) runs its own Redis and PostgreSQL as the current user, on its own ports and
# data directories: the Debian system services are neither used nor required.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(redis-server postgresql postgresql-15-postgis-3 chromium curl jq)
VENV=.venv
INSTALL_STAMP="$VENV/.evalbatch-install.sha256"
MIN_PYTHON=(3 11)

say() { echo "bootstrap: $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

install_apt_packages() {
    local missing=() package
    for package in "$@"; do
        package_installed "$package" || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian packages present: $*"
        return
    fi
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

python_is_recent() {
    "$1" -c "import sys; sys.exit(sys.version_info[:2] < (${MIN_PYTHON[0]}, ${MIN_PYTHON[1]}))" 2>/dev/null
}

find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null && python_is_recent "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    return 1
}

install_apt_packages "${APT_PACKAGES[@]}"
say "the Debian redis/postgresql system services are not needed: \`evalbatch up\` runs its own instances"

if [ ! -x "$VENV/bin/python" ] || ! python_is_recent "$VENV/bin/python"; then
    if ! PYTHON=$(find_python); then
        say "no python3 >= ${MIN_PYTHON[0]}.${MIN_PYTHON[1]} found; installing Debian's python3"
        install_apt_packages python3 python3-venv
        PYTHON=$(find_python)
    fi
    if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
        install_apt_packages python3-venv
    fi
    say "creating $VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi

wanted_stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$INSTALL_STAMP" ] && [ "$(cat "$INSTALL_STAMP")" = "$wanted_stamp" ] && [ -x "$VENV/bin/evalbatch" ]; then
    say "Python packages up to date ($VENV; pyproject.toml unchanged)"
else
    say "installing evalbatch and its dependencies into $VENV (pip install -e '.[dev,local]')"
    "$VENV/bin/python" -m pip install --quiet -e '.[dev,local]'
    echo "$wanted_stamp" >"$INSTALL_STAMP"
fi
say "ready: $VENV/bin/evalbatch up | make test | make demo"
