#!/usr/bin/env bash
# The browser the web dashboard's tests and bench drive: Debian's Chromium (and its
# ChromeDriver), with a CJK font so the Chinese pages render (and screenshot) as users see them.
# Installed with apt-get when missing (as root); prints `export WANGGE_CHROMIUM=<path>`.
#
#   eval "$(scripts/dev/browser.sh)"
set -euo pipefail

log() { echo "browser: $*" >&2; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$EUID" -ne 0 ]; then
        log "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
        exit 1
    fi
    log "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
echo "export WANGGE_CHROMIUM=/usr/bin/chromium"
