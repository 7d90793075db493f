#!/bin/bash
# Who holds a namespace: an ext4 on one namespace, swap on the other, a
# dm linear over a namespace, a ublk server that serves it and a mounted
# partition are each reported, and only a clean namespace is "free".
# vm-timeout: 180
. "$(dirname "$0")/lib.sh"

need_cmd ublkit jq wipefs mkfs.ext4 mkswap swapon swapoff dmsetup blockdev

udevadm settle -t 30
dev1=$(nvme_ns_dev 1) || fail "no namespace 1"
dev2=$(nvme_ns_dev 2) || fail "no namespace 2"
mnt=$(mktemp -d)

cleanup() {
	umount "$mnt" 2>/dev/null || true
	swapoff "$dev2" 2>/dev/null || true
	dmsetup remove ublkit-test-linear 2>/dev/null || true
	ublkit del --all >/dev/null 2>&1 || true
	wipefs -qa "$dev1" "$dev2" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

# holder DEV: the holder word of DEV in ublkit nvme list --json
holder() { ublkit nvme list --json | jq -r --arg d "$1" '.[] | select(.device == $d) | .holder'; }
field() { ublkit nvme list --json | jq -r --arg d "$1" ".[] | select(.device == \$d) | $2"; }
expect_holder() { # DEV WANT
	local got
	got=$(holder "$1")
	log "$1: holder $got"
	[[ $got == "$2" ]] || fail "$1: holder '$got', expected '$2' ($(field "$1" .usage.reason))"
}

run wipefs -qa "$dev1" "$dev2"
udevadm settle -t 30
expect_holder "$dev1" free
expect_holder "$dev2" free
assert_eq true "$(field "$dev1" .free)" "$dev1 free"

# a file system, unmounted: data, not free
run mkfs.ext4 -q -F -L ublkit-test "$dev1"
expect_holder "$dev1" signature:ext4
assert_eq false "$(field "$dev1" .free)" "$dev1 with ext4 is not free"
assert_eq ublkit-test "$(field "$dev1" .usage.label)" "label of the ext4"
expect_holder "$dev2" free
# mounted
run mount "$dev1" "$mnt"
expect_holder "$dev1" "mounted:$mnt"
assert_ok ublkit nvme info "$dev1"
assert_match "is mounted on $mnt" "$out" "info says where it is mounted"

# a swap signature, then active swap
run mkswap -q "$dev2"
expect_holder "$dev2" signature:swap
run swapon "$dev2"
expect_holder "$dev2" swap
assert_eq '["active-swap"]' "$(field "$dev2" '.usage.found | tostring')" "what holds $dev2"
run swapoff "$dev2"
run wipefs -qa "$dev2"
expect_holder "$dev2" free

# dm linear over namespace 2
run dmsetup create ublkit-test-linear --table "0 $(blockdev --getsz "$dev2") linear $dev2 0"
udevadm settle -t 30
dm=$(basename "$(readlink -f /dev/mapper/ublkit-test-linear)")
expect_holder "$dev2" "held:$dm"
assert_ok ublkit nvme info "$dev2" --json
assert_match "held by $dm" "$(jq -r .namespace.usage.reason <<<"$out")" "reason names the dm device"
run dmsetup remove ublkit-test-linear
udevadm settle -t 30
expect_holder "$dev2" free

# a ublk server with the file target opens its block device exclusively
if ublkit modprobe ublk_drv >/dev/null 2>&1; then
	assert_ok ublkit add --target file --file "$dev2" --json
	id=$(jq -r .id <<<"$out")
	expect_holder "$dev2" held:exclusive
	run ublkit del "$id"
	wait_for 10 bash -c "[[ \$(ublkit nvme list --json | jq -r --arg d '$dev2' '.[] | select(.device == \$d) | .holder') == free ]]" ||
		fail "$dev2 not free after the ublk device is gone"
else
	log "no ublk_drv: the exclusive-opener case is not checked"
fi

run umount "$mnt"
expect_holder "$dev1" signature:ext4
run wipefs -qa "$dev1"
expect_holder "$dev1" free

# a partition table (an MBR with one Linux partition from 1 MiB on), and a
# file system on the partition, mounted
mbr() {
	printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x00\x10\x00'
}
run dd if=/dev/zero of="$dev1" bs=512 count=1 conv=notrunc status=none
{ mbr | dd of="$dev1" bs=1 seek=446 conv=notrunc status=none; } || fail "cannot write an MBR"
printf '\x55\xaa' | dd of="$dev1" bs=1 seek=510 conv=notrunc status=none
run blockdev --rereadpt "$dev1"
udevadm settle -t 30
part=${dev1}p1
wait_for 10 test -b "$part" || fail "$part did not appear"
expect_holder "$dev1" partitions
run mkfs.ext4 -q -F "$part"
run mount "$part" "$mnt"
expect_holder "$dev1" "mounted:$mnt"
assert_ok ublkit nvme info "$dev1" --json
assert_match "${part##*/} is mounted on $mnt" "$(jq -r .namespace.usage.reason <<<"$out")" "reason names the partition"
run umount "$mnt"
run wipefs -qa "$part"
run wipefs -qa "$dev1"
run blockdev --rereadpt "$dev1"
udevadm settle -t 30
wait_for 10 test ! -e "$part" || fail "$part is still there"
expect_holder "$dev1" free
log "holders reported: ext4, mount, swap signature, active swap, dm, ublk server, partitions"
