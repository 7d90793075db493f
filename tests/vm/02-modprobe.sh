#!/bin/bash
# ublkit modprobe loads the kernel modules ublkit needs, and fails loudly
# for a module that does not exist.
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
