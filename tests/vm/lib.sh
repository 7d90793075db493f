# Helpers for the VM tests (tests/vm/[0-9][0-9]-*.sh). Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#
# A test runs as root inside the guest with ublkit installed under /usr.
# Exit 0 = pass, 77 = skip, anything else = fail; the helpers below exit
# with the right status and say why on stderr.
# shellcheck shell=bash

set -eEuo pipefail

t_name=${0##*/}
# Helpers built by tests/vm/run (stop-before-start.so, ...).
vm_bin=$(cd "$(dirname "$0")" && pwd)/bin

log() { printf '%s: %s\n' "$t_name" "$*"; }
fail() { printf '%s: FAIL: %s\n' "$t_name" "$*" >&2; exit 1; }
skip() { printf '%s: SKIP: %s\n' "$t_name" "$*"; exit 77; }

# Say where an unchecked command failed under set -e.
trap 'printf "%s: line %d: command failed (exit %d): %s\n" "$t_name" "$LINENO" "$?" "$BASH_COMMAND" >&2' ERR

# Show a command, then run it; its status is the caller's to check.
run() {
	printf '+ %s\n' "$*"
	"$@"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

assert_eq() { # EXPECTED ACTUAL [WHAT]
	[[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_match() { # REGEX STRING [WHAT]
	[[ $2 =~ $1 ]] || fail "${3:-value}: '$2' does not match /$1/"
}

assert_exists() { for p; do [[ -e $p ]] || fail "$p does not exist"; done; }
assert_missing() { for p; do [[ ! -e $p ]] || fail "$p exists"; done; }
assert_block() { for p; do [[ -b $p ]] || fail "$p is not a block device"; done; }
assert_char() { for p; do [[ -c $p ]] || fail "$p is not a character device"; done; }

# Run a command that must succeed; its output is shown and kept in $out.
assert_ok() {
	local rc=0
	printf '+ %s\n' "$*"
	out=$("$@" 2>&1) || rc=$?
	[[ -z $out ]] || printf '%s\n' "$out"
	((rc == 0)) || fail "'$*' exited $rc"
}

# Run a command that must fail (non-zero, not killed by a signal).
assert_fails() {
	local rc=0
	printf '+ %s\n' "$*"
	out=$("$@" 2>&1) || rc=$?
	[[ -z $out ]] || printf '%s\n' "$out"
	((rc != 0)) || fail "'$*' succeeded but should have failed"
	((rc < 128)) || fail "'$*' died with status $rc"
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local secs=$1 deadline
	shift
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# Block device size in bytes.
dev_size() { blockdev --getsize64 "$1"; }

# The block device of NVMe namespace NSID (e.g. /dev/nvme0n2), or nothing
# and status 1. The guest has one NVMe subsystem. The kernel scans
# namespaces asynchronously, so nvme0nY is not necessarily namespace Y.
nvme_ns_dev() {
	local b
	for b in /sys/block/nvme*n*; do
		# Skip multipath path devices (nvme0c0n2): they have no /dev node.
		[[ ${b##*/} != nvme*c*n* && -e $b/nsid ]] || continue
		[[ $(cat "$b/nsid" 2>/dev/null) == "$1" ]] || continue
		printf '/dev/%s\n' "${b##*/}"
		return 0
	done
	return 1
}

# journal_has IDENT TEXT: the journal has a line from IDENT containing TEXT.
journal_has() {
	journalctl --sync 2>/dev/null || true
	journalctl -b -o cat -t "$1" 2>/dev/null | grep -qF -- "$2"
}

# unit_journal_has UNIT TEXT
unit_journal_has() {
	journalctl --sync 2>/dev/null || true
	journalctl -b -o cat -u "$1" 2>/dev/null | grep -qF -- "$2"
}
