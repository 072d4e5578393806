#!/usr/bin/env bash
# Re-fetch lunr.js from the npm registry with `npm pack` and verify it against the recorded
# checksums in static/vendor/lunr/SOURCE.md. Usage: scripts/fetch-lunr.sh [--update]
#   (no flag)  verify the shipped files match the registry's package byte for byte
#   --update   (re)write the shipped files from the package and record their checksums
set -euo pipefail
version="2.3.9"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/static/vendor/lunr"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "lunr@$version" >/dev/null)
tarball="$work/lunr-$version.tgz"
tar -xzf "$tarball" -C "$work"
pkg_version="$(node -p "require('$work/package/package.json').version")"
[ "$pkg_version" = "$version" ] || { echo "expected lunr $version, got $pkg_version" >&2; exit 1; }

tar_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
js_sha="$(sha256sum "$work/package/lunr.min.js" | cut -d' ' -f1)"
lic_sha="$(sha256sum "$work/package/LICENSE" | cut -d' ' -f1)"

if [ "${1:-}" = "--update" ]; then
  mkdir -p "$dest"
  cp "$work/package/lunr.min.js" "$work/package/LICENSE" "$dest/"
  cat > "$dest/SOURCE.md" <<EOM
# lunr.js (vendored, unmodified)

- Package: \`lunr\` $version from the npm registry (MIT licence, see \`LICENSE\` here)
- Files: \`lunr.min.js\` and \`LICENSE\`, copied unmodified from the package tarball
- npm tarball sha256: \`$tar_sha\`
- lunr.min.js sha256: \`$js_sha\`
- LICENSE sha256: \`$lic_sha\`
- Re-fetch and verify: \`scripts/fetch-lunr.sh\` (\`--update\` to rewrite)
EOM
  echo "updated $dest"
  exit 0
fi

fail=0
cmp -s "$work/package/lunr.min.js" "$dest/lunr.min.js" || { echo "lunr.min.js differs from npm lunr@$version" >&2; fail=1; }
cmp -s "$work/package/LICENSE" "$dest/LICENSE" || { echo "LICENSE differs from npm lunr@$version" >&2; fail=1; }
grep -q "$js_sha" "$dest/SOURCE.md" || { echo "SOURCE.md does not record lunr.min.js sha256 $js_sha" >&2; fail=1; }
[ "$fail" = 0 ] && echo "lunr $version verified: lunr.min.js sha256 $js_sha"
exit "$fail"
