#!/bin/sh
# libublkit exports exactly the ublkit_* symbols of its version script.
set -u
: "${top_builddir:?run through make check}" "${top_srcdir:?}"
lib=
for f in "$top_builddir"/core/.libs/libublkit.so.[0-9]*; do
	[ -f "$f" ] && [ ! -L "$f" ] && lib=$f
done
[ -n "$lib" ] || { echo "libublkit.so not built"; exit 77; }
command -v nm >/dev/null || { echo "nm missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sed 's/@.*//' |
	grep -v '^LIBUBLKIT_' | sort -u >"$tmp/exported"
sed -n 's/^[[:space:]]*\(ublkit_[a-z0-9_]*\);.*/\1/p' "$top_srcdir/core/libublkit.sym" | sort -u >"$tmp/script"
rc=0
if grep -v '^ublkit_' "$tmp/exported"; then echo "not ok 1 - only ublkit_* symbols exported"; rc=1
else echo "ok 1 - only ublkit_* symbols exported"; fi
if diff -u "$tmp/script" "$tmp/exported"; then echo "ok 2 - exports match core/libublkit.sym"
else echo "not ok 2 - exports match core/libublkit.sym"; rc=1; fi
if nm -D --defined-only "$lib" | grep -q ' ublkit_ctx_new@@LIBUBLKIT_'; then
	echo "ok 3 - symbols are versioned"; else echo "not ok 3 - symbols are versioned"; rc=1; fi
echo "1..3"
exit $rc
