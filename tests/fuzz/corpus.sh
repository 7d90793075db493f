#!/bin/sh
# Replay every fuzz target's corpus (tests/fuzz/corpus/TARGET/*) through
# it: a regression test that takes seconds. Under libFuzzer each file is
# run once; under driver.c likewise. $FUZZ_TARGETS comes from make.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${FUZZ_TARGETS:?}"
status=0
for t in $FUZZ_TARGETS; do
	name=${t##*/fuzz-}
	dir=$top_srcdir/tests/fuzz/corpus/$name
	if ! ls "$dir"/* >/dev/null 2>&1; then
		echo "FAIL $name: no corpus in $dir"
		status=1
		continue
	fi
	n=$(find "$dir" -type f | wc -l)
	if "$top_builddir/$t" "$dir"/* >"$top_builddir/tests/fuzz/$name.corpus.log" 2>&1; then
		echo "ok   $name: $n inputs"
	else
		echo "FAIL $name ($top_builddir/tests/fuzz/$name.corpus.log):"
		tail -n 30 "$top_builddir/tests/fuzz/$name.corpus.log"
		status=1
	fi
done
exit $status
