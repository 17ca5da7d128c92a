#!/usr/bin/env bash
# Set up kosovo-sim in ./.venv: find a working Python >= 3.12, install the package.
#   bash setup.sh          the simulator
#   bash setup.sh --test   also the test tools, and Debian's chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

works() {  # a candidate interpreter that actually runs and is >= 3.12
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local c
  for c in python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && works "$c"; then command -v "$c"; return 0; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    for c in $(ls -d "$root"/versions/3.13* "$root"/versions/3.12* 2>/dev/null | sort -rV); do
      for exe in "$c"/bin/python3.13 "$c"/bin/python3.12; do
        if [ -x "$exe" ] && works "$exe"; then echo "$exe"; return 0; fi
      done
    done
  fi
  return 1
}

if [ -x .venv/bin/python ] && works .venv/bin/python; then
  PY=.venv/bin/python
else
  if ! base=$(find_python); then
    echo "setup.sh: no Python >= 3.12 found (tried python3.13, python3.12, python3 and pyenv's versions)." >&2
    echo "Install one, e.g. 'pyenv install 3.12' or your system's python3.12 package, then run this again." >&2
    exit 2
  fi
  echo "setup.sh: using $base ($("$base" --version))"
  "$base" -m venv .venv
  PY=.venv/bin/python
fi

"$PY" -m pip install --quiet --upgrade pip
if [ "$want_test" = 1 ]; then
  "$PY" -m pip install --quiet -e ".[test]"
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup.sh: installing Debian's chromium for the browser tests"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "setup.sh: /usr/bin/chromium is missing; install Debian's 'chromium' package for the browser tests" >&2
    fi
  fi
else
  "$PY" -m pip install --quiet -e .
fi
echo "setup.sh: ready: .venv/bin/kosovo-sim --help"
