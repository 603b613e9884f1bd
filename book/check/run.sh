#!/usr/bin/env bash
# Build the book and open every page in headless Chromium (see check.py).
# Installs what is missing: mdBook (pinned) with cargo, Chromium and ChromeDriver with apt-get.
# First the static numbers check (every figure in the prose comes from the generated results),
# then the browser check; each proves first that it fails on planted defects.
# Screenshots of the introduction and step 2 land in book/check/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/../.."

MDBOOK_VERSION=0.5.4

if ! command -v mdbook >/dev/null 2>&1 || [ "$(mdbook --version)" != "mdbook v$MDBOOK_VERSION" ]; then
    echo "book: installing mdbook $MDBOOK_VERSION"
    cargo install mdbook --locked --version "$MDBOOK_VERSION"
fi
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    echo "book: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }
fi

echo "book: every number in the prose must come from the generated results"
python3 book/check/numbers.py --self-test
python3 book/check/numbers.py book/src

echo "book: the browser check must fail on planted defects"
python3 book/check/check.py --self-test

echo "book: mdbook build book"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mdbook build book 2>&1 | tee "$log"
# mdBook reports a failed {{#include}} as an ERROR line and still exits 0.
if grep -q "ERROR" "$log"; then
    echo "book: mdbook reported errors (above)" >&2
    exit 1
fi

echo "book: opening every page in headless Chromium"
python3 book/check/check.py book/book
