#!/bin/bash
# The emulated NVMe controller behaves the way the ublkit hotplug tests need:
# two namespaces of the configured sizes, and namespace detach/attach that
# produce real udev remove/add events.
. "$(dirname "$0")/lib.sh"

need_cmd nvme blockdev udevadm cmp

ns1=${VM_NVME_NS1_BYTES:?} ns2=${VM_NVME_NS2_BYTES:?}

udevadm settle -t 30
wait_for 10 test -b /dev/nvme0n1 || fail "/dev/nvme0n1 did not appear"
wait_for 10 test -b /dev/nvme0n2 || fail "/dev/nvme0n2 did not appear"
assert_char /dev/nvme0
assert_eq ublkit0001 "$(tr -d ' ' </sys/class/nvme/nvme0/serial)" "controller serial"
# QEMU 7.2 prefixes the configured NQN with its own.
assert_match 'nqn\.2024-01\.org\.ublkit:subsys0$' "$(cat /sys/class/nvme/nvme0/subsysnqn)" "subsystem NQN"

dev1=$(nvme_ns_dev 1) || fail "no block device for namespace 1"
dev2=$(nvme_ns_dev 2) || fail "no block device for namespace 2"
log "namespace 1 is $dev1, namespace 2 is $dev2"
assert_eq "$ns1" "$(dev_size "$dev1")" "size of namespace 1 ($dev1)"
assert_eq "$ns2" "$(dev_size "$dev2")" "size of namespace 2 ($dev2)"

# udev gave namespace 2 its persistent name (serial + nsid).
link=$(find /dev/disk/by-id -name 'nvme-*_ublkit0001_2' -print -quit)
[[ -n $link ]] || fail "no /dev/disk/by-id/nvme-*_ublkit0001_2 link"
assert_eq "$dev2" "$(readlink -f "$link")" "$link"

# A pattern to tell that the namespace that comes back is the same one.
run dd if=/dev/urandom of=pattern bs=64k count=16 status=none
run dd if=pattern of="$dev2" bs=64k oflag=direct status=none

assert_ok nvme detach-ns /dev/nvme0 -n 2 -c 0
wait_for 10 test ! -e "$dev2" || fail "$dev2 still exists 10 s after detach-ns"
udevadm settle -t 30
assert_missing "$dev2" "$link"
nvme_ns_dev 2 >/dev/null && fail "namespace 2 still has a block device after detach-ns"
assert_block "$dev1"

assert_ok nvme attach-ns /dev/nvme0 -n 2 -c 0
wait_for 10 nvme_ns_dev 2 || fail "namespace 2 did not come back within 10 s of attach-ns"
udevadm settle -t 30
dev2=$(nvme_ns_dev 2)
assert_block "$dev2"
assert_eq "$ns2" "$(dev_size "$dev2")" "size of namespace 2 ($dev2) after attach"
wait_for 10 test -e "$link" || fail "$link did not come back"
assert_eq "$dev2" "$(readlink -f "$link")" "$link after attach"
run dd if="$dev2" of=readback bs=64k count=16 iflag=direct status=none
cmp pattern readback || fail "data on namespace 2 changed across detach/attach"
log "detach/attach of namespace 2 works ($dev2)"
