#!/bin/sh
# Re-fetches the console's chart library, uPlot, at its pinned version with npm's own client,
# checks the package's SHA-256 against the one pinned here, and copies the minified script, its
# stylesheet and its licence into crates/modelwatch/console/vendor/uplot/ (committed: building
# the crate needs no npm). Run from anywhere: sh tools/vendor_uplot.sh
set -eu

VERSION=1.6.32
SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d

root=$(cd "$(dirname "$0")/.." && pwd)
target="$root/crates/modelwatch/console/vendor/uplot"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "uplot@$VERSION" >/dev/null)
package="$work/uplot-$VERSION.tgz"
actual=$(sha256sum "$package" | cut -d' ' -f1)
if [ "$actual" != "$SHA256" ]; then
    echo "uplot-$VERSION.tgz has SHA-256 $actual, expected $SHA256; nothing copied" >&2
    exit 1
fi
tar -xzf "$package" -C "$work"
mkdir -p "$target"
cp "$work/package/dist/uPlot.iife.min.js" "$target/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$target/uPlot.min.css"
cp "$work/package/LICENSE" "$target/LICENSE"
echo "uPlot $VERSION copied to $target (package SHA-256 $SHA256)"
