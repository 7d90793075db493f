#!/bin/bash
# ublkit modprobe loads the kernel modules ublkit needs, fails loudly for
# a module that does not exist, and refuses names that cannot be a
# module's (a path, '', control characters) before it loads anything.
. "$(dirname "$0")/lib.sh"

need_cmd ublkit

# Start from ublk_drv not loaded (if nothing uses it), so that the
# assertion below shows ublkit loaded it.
modprobe -r ublk_drv 2>/dev/null || true

assert_ok ublkit modprobe ublk_drv dm_mod nvme
for m in ublk_drv dm_mod nvme; do
	assert_exists "/sys/module/$m"
done
wait_for 10 test -c /dev/ublk-control || fail "/dev/ublk-control did not appear"
assert_char /dev/ublk-control

# Idempotent: loading what is loaded is not an error.
assert_ok ublkit modprobe ublk_drv

assert_fails ublkit modprobe no_such_module_xyz
[[ -n $out ]] || fail "ublkit modprobe no_such_module_xyz failed without a message"
grep -q no_such_module_xyz <<<"$out" || fail "the error message does not name the module"
assert_missing /sys/module/no_such_module_xyz
log "modules loaded, unknown module rejected"

# A name that cannot be a module's is a usage error (exit 2), checked
# before anything is looked up or loaded: a path is not pasted into
# /sys/module, and a good name next to a bad one is not loaded either.
modprobe -r dm_flakey 2>/dev/null || true
assert_missing /sys/module/dm_flakey
assert_usage() {
	local rc=0
	printf '+ %s\n' "$*"
	out=$("$@" 2>&1) || rc=$?
	[[ -z $out ]] || printf '%s\n' "$out"
	((rc == 2)) || fail "'$*' exited $rc, not 2 (usage)"
	grep -q "is not a module name" <<<"$out" || fail "'$*' does not say what is wrong"
	! grep -q "built into" <<<"$out" || fail "'$*' took a path for a built-in module"
}
assert_usage ublkit modprobe ../../etc/passwd
assert_usage ublkit modprobe ''
assert_usage ublkit modprobe /lib/modules
assert_usage ublkit modprobe "$(printf 'dm_flakey\nx')"
assert_usage ublkit modprobe "$(printf 'm%.0s' {1..56})"
assert_usage ublkit modprobe dm_flakey ../dm_flakey
assert_usage ublkit --json modprobe dm_flakey 'dm flakey'
assert_missing /sys/module/dm_flakey
# the same module by its other spelling still loads
assert_ok ublkit modprobe dm-flakey
assert_exists /sys/module/dm_flakey
log "names that are no module names refused with exit 2, nothing loaded; a good name loads"
