#!/usr/bin/env bash
# Creates .venv and installs everything the project needs, from nothing but this repo.
# Idempotent: a stamp holds the hash of the inputs, so a second call costs ~0.1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.oie-installed

# This machine's pip config lists local mirrors that may be absent; hide only that noise.
quiet_pip() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }
want=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)

if [[ ! -x $VENV/bin/python ]]; then
  echo "bootstrap: creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
if [[ ! -f $STAMP || $(cat "$STAMP") != "$want" ]]; then
  echo "bootstrap: installing Python packages (first time ≈ 90 s)" >&2
  quiet_pip "$VENV/bin/pip" install -q --upgrade pip
  # dbt-core 1.12.1+ needs a parser that only builds with internet access: pin 1.12.0
  # and refuse to build that parser from source (see docs/install.md).
  quiet_pip "$VENV/bin/pip" install -q --only-binary=dbt-core-experimental-parser -c constraints.txt -e ".[bigquery,dev]"
  echo "$want" > "$STAMP"
fi

# Debian packages for a part (CI runs as root; a developer's shell goes through sudo).
# One `apt-get update` per run, only when something is missing.
apt_updated=""
apt_install() {
  local SUDO=""; [[ $(id -u) != 0 ]] && SUDO=sudo
  if [[ -z $apt_updated ]]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# Optional parts, installed only when asked (tests and the pixel build ask).
for part in "$@"; do
  case $part in
    pixel)
      if [[ -f pixel/package-lock.json ]]; then
        lock_hash=$(sha256sum pixel/package-lock.json | cut -d' ' -f1)
        if [[ ! -f pixel/node_modules/.oie-installed || $(cat pixel/node_modules/.oie-installed) != "$lock_hash" ]]; then
          echo "bootstrap: npm ci in pixel/" >&2
          (cd pixel && npm ci --no-audit --no-fund --loglevel=error)
          echo "$lock_hash" > pixel/node_modules/.oie-installed
        fi
      fi
      ;;
    chromium)
      if [[ ! -x /usr/bin/chromium ]]; then
        echo "bootstrap: installing Debian chromium (≈ 50 s)" >&2
        apt_install chromium
      fi
      ;;
    firefox)
      # The cross-engine pixel tests drive it through WebDriver BiDi with npm
      # puppeteer-core (part `pixel`), never a browser Puppeteer downloads.
      if [[ ! -x /usr/bin/firefox-esr ]]; then
        echo "bootstrap: installing Debian firefox-esr" >&2
        apt_install firefox-esr
      fi
      ;;
    webkit)
      # WebKitGTK's MiniBrowser (in libwebkit2gtk-4.1-0) and its WebDriver, on a virtual X
      # server: it has no headless mode (tests/python/helpers/webkit.py, xvfb.py).
      if [[ ! -x /usr/bin/WebKitWebDriver || ! -x /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser \
            || ! -x /usr/bin/Xvfb || ! -x /usr/bin/xauth ]]; then
        echo "bootstrap: installing Debian webkit2gtk-driver, libwebkit2gtk-4.1-0, xvfb, xauth" >&2
        apt_install webkit2gtk-driver libwebkit2gtk-4.1-0 xvfb xauth
      fi
      ;;
    wrk)
      # The ingest benchmark's load generator (C, light on the cores it shares with the
      # server); bench/ingest.py falls back to a Python one without it.
      if ! command -v wrk >/dev/null; then
        echo "bootstrap: installing Debian wrk" >&2
        apt_install wrk
      fi
      ;;
    bqemulator)
      # The BigQuery emulator pins an older sqlglot, so it lives in its own venv.
      BQV=.venv-bqemu
      if [[ ! -f $BQV/.oie-installed || $(cat "$BQV/.oie-installed") != "bqemulator-1.4.0-duckdb1" ]]; then
        echo "bootstrap: installing bqemulator into $BQV" >&2
        "$PY" -m venv "$BQV"
        quiet_pip "$BQV/bin/pip" install -q --upgrade pip
        # duckdb 2.x breaks the emulator's insertAll ("connection has an unfinished result").
        quiet_pip "$BQV/bin/pip" install -q "bqemulator==1.4.0" "duckdb>=1.4,<2" numpy
        echo "bqemulator-1.4.0-duckdb1" > "$BQV/.oie-installed"
      fi
      ;;
    mutmut)
      # `make mutate` only, so not a pyproject dependency. Pinned: bench/mutate.py reads
      # the result files this version writes into mutants/.
      if [[ ! -f $VENV/.oie-mutmut || $(cat "$VENV/.oie-mutmut") != "mutmut-3.8.1" ]]; then
        echo "bootstrap: installing mutmut into $VENV" >&2
        quiet_pip "$VENV/bin/pip" install -q -c constraints.txt "mutmut==3.8.1"
        echo "mutmut-3.8.1" > "$VENV/.oie-mutmut"
      fi
      ;;
    *) echo "bootstrap: unknown part $part" >&2; exit 2 ;;
  esac
done
