#!/usr/bin/env bash
# Headless Chromium and playwright-core for the browser test (tests/browser.rs).
#
#   scripts/browser.sh install
#
# or `source` it and call browser_install. Like scripts/emulators.sh, the
# function body runs in a subshell with `set -euo pipefail`; call it as a plain
# command (bash turns `set -e` off inside a function called from `if`, `||`
# or `&&`).
#
# Chromium comes from Debian (apt) and nowhere else: we never let playwright
# download a browser. playwright-core lands in the git-ignored .emulators
# folder, so a fresh clone (CI) installs it and a warm tree skips it.
#
# browser_install prints the variables the test needs and writes them to
# .emulators/browser-env, to be sourced:
#   COGNITO_SESSION_CHROMIUM        the browser binary
#   COGNITO_SESSION_PLAYWRIGHT_DIR  the node_modules folder holding playwright-core

BROWSER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BROWSER_DIR="$BROWSER_ROOT/.emulators/browser"
BROWSER_ENV="$BROWSER_ROOT/.emulators/browser-env"
BROWSER_CHROMIUM=/usr/bin/chromium
# Pinned to a major version; changing this string forces a reinstall (it is
# the marker's content).
BROWSER_NPM_SPEC="playwright-core@1"

browser_log() { echo "browser: $*" >&2; }

browser_install() (
    set -euo pipefail
    if [[ ! -x "$BROWSER_CHROMIUM" ]]; then
        browser_log "installing chromium (apt)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        [[ -x "$BROWSER_CHROMIUM" ]] || { browser_log "$BROWSER_CHROMIUM missing after apt-get install"; exit 1; }
    fi

    local modules="$BROWSER_DIR/node_modules"
    if [[ "$(cat "$BROWSER_DIR/.installed" 2>/dev/null)" != "$BROWSER_NPM_SPEC" ||
        ! -f "$modules/playwright-core/index.mjs" ]]; then
        browser_log "installing $BROWSER_NPM_SPEC (npm) into .emulators/browser"
        rm -rf "$BROWSER_DIR"
        mkdir -p "$BROWSER_DIR"
        # playwright-core has no install script and downloads no browser.
        npm install --prefix "$BROWSER_DIR" --no-audit --no-fund --loglevel=error "$BROWSER_NPM_SPEC" >&2
        [[ -f "$modules/playwright-core/index.mjs" ]] || { browser_log "playwright-core not found after npm install"; exit 1; }
        echo "$BROWSER_NPM_SPEC" >"$BROWSER_DIR/.installed"
    fi

    {
        echo "export COGNITO_SESSION_CHROMIUM=$(printf %q "$BROWSER_CHROMIUM")"
        echo "export COGNITO_SESSION_PLAYWRIGHT_DIR=$(printf %q "$modules")"
    } >"$BROWSER_ENV"
    cat "$BROWSER_ENV"
)

# Run as a command rather than sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        install) "browser_$1" ;;
        *) echo "usage: $0 install" >&2; exit 2 ;;
    esac
fi
