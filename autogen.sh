#!/bin/sh
# Regenerate the build system from a git checkout.
set -e
srcdir=$(dirname "$0")
cd "$srcdir"
autoreconf --force --install --symlink
if [ -z "$NOCONFIGURE" ]; then
	echo "Now run ./configure (see ./configure --help), then make."
fi
