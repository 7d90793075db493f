#!/bin/bash
# Bad input gets a clear error, a non-zero exit, and leaves nothing behind;
# a second add of a used id leaves the existing device untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"

bad() { # REGEX ARGS...: ublkit ARGS must fail with a message matching REGEX
	local re=$1
	shift
	assert_fails ublkit "$@"
	[[ $out =~ $re ]] || fail "ublkit $*: message does not say /$re/: $out"
	assert_eq 0 "$(ublk_count)" "devices left after 'ublkit $*'"
	[[ -z $(ls /run/ublkit/devices 2>/dev/null) ]] || fail "state left in /run/ublkit/devices"
}
# A usage error: exit 2 and the command's synopsis, besides the message.
usage() { # REGEX ARGS...
	local re=$1 rc=0
	shift
	ublkit "$@" >/dev/null 2>&1 || rc=$?
	assert_eq 2 "$rc" "exit status of 'ublkit $*'"
	bad "$re" "$@"
	[[ $out =~ "Usage: ublkit" ]] || fail "ublkit $*: no synopsis: $out"
}

usage "--depth 0: out of range; give 1 to 4096" add --target mem --size 64M --depth 0
usage "--depth 5000: out of range; give 1 to 4096" add --target mem --size 64M --depth 5000
usage "--queues 0: out of range; give 1 to 64" add --target mem --size 64M --queues 0
usage "not a multiple of the logical block size" add --target mem --size 1000
usage "logical block size 1000" add --target mem --size 64M --block-size 1000
usage "max I/O size" add --target mem --size 64M --max-io 5000
usage "needs --size" add --target mem
usage "--target is required" add --size 64M
usage "needs --file" add --target file
bad "cannot open" add --target file --file /nonexistent
usage "unknown target 'floppy'" add --target floppy --size 1M
usage "'lots': not a size" add --target mem --size lots
bad "no ublk device 4242" info 4242
bad "no ublk device 4242" del 4242
ublkit frobnicate >/dev/null 2>&1 || rc=$?
assert_eq 2 "${rc:-0}" "exit status of an unknown command"
bad "unknown command 'frobnicate'; see 'ublkit --help'" frobnicate

# An id in use: the second add fails and the first device is untouched.
ublk_add --target mem --size 64M --id 7
assert_eq 7 "$dev_id" "device id"
dd if=/dev/urandom of=/tmp/p bs=1M count=4 status=none
dd if=/tmp/p of="$dev_path" bs=1M oflag=direct status=none
assert_fails ublkit add --target mem --size 32M --id 7
[[ $out =~ "in use by a live device" ]] || fail "second add --id 7: unclear message: $out"
assert_eq 1 "$(ublk_count)" "devices after the refused add"
assert_eq live "$(ublk_state 7)" "state of ublk7"
kill -0 "$dev_pid" || fail "the first server died"
assert_eq $((64 << 20)) "$(dev_size /dev/ublkb7)" "size of ublk7"
cmp <(dd if=/dev/ublkb7 bs=1M count=4 iflag=direct status=none) /tmp/p ||
	fail "data of ublk7 changed"
assert_ok ublkit del 7
log "every bad input refused with a message; nothing left behind"
