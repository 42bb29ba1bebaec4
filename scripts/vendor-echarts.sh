#!/usr/bin/env bash
# Refreshes the vendored Apache ECharts (the dashboard works with no network, so it ships the file).
# Usage: scripts/vendor-echarts.sh [VERSION]   (default: the npm registry's latest)
set -euo pipefail

version="${1:-latest}"
target="$(cd "$(dirname "$0")/.." && pwd)/src/streamvault/dashboard/static/vendor/echarts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$work" && npm pack --silent "echarts@$version")"
tar -xzf "$work/$tarball" -C "$work"
package="$work/package"
resolved="$(node -p "require('$package/package.json').version")"

mkdir -p "$target"
cp "$package/dist/echarts.common.min.js" "$target/"
cp "$package/LICENSE" "$package/NOTICE" "$target/"
cp "$package/licenses/LICENSE-d3" "$target/"
cat > "$target/VERSION" <<INFO
echarts $resolved (npm package "echarts", dist/echarts.common.min.js), Apache License 2.0: see LICENSE and NOTICE
sha256 $(sha256sum "$target/echarts.common.min.js" | cut -d' ' -f1)
refreshed by scripts/vendor-echarts.sh
INFO
echo "vendored echarts $resolved into $target"
