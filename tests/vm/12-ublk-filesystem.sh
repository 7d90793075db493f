#!/bin/bash
# A file system on ublk: mkfs.ext4, mount, write and read back files,
# unmount, fsck clean; on mem and on file (NVMe namespace) targets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd mkfs.ext4 e2fsck

fs_roundtrip() {
	run mkfs.ext4 -q -F "$dev_path" || fail "mkfs.ext4 on $dev_path"
	mkdir -p /mnt/ublk
	run mount "$dev_path" /mnt/ublk || fail "mount $dev_path"
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="/mnt/ublk/f$i" bs=1M count=8 status=none
	done
	(cd /mnt/ublk && sha256sum f? >/tmp/sums)
	run fstrim -v /mnt/ublk || log "fstrim not supported here"
	run umount /mnt/ublk
	run e2fsck -fn "$dev_path" || fail "e2fsck found errors on $dev_path"
	run mount "$dev_path" /mnt/ublk
	(cd /mnt/ublk && sha256sum -c /tmp/sums) || fail "files changed after remount"
	run umount /mnt/ublk
}

ublk_add --target mem --size 256M --queues 2
fs_roundtrip
assert_ok ublkit del "$dev_id"

ublk_add --target file --file /dev/nvme0n1 --queues 2
fs_roundtrip
j=$(ublkit stats --json "$dev_id")
log "flushes: $(jq .ops.flush.ops <<<"$j"), discards: $(jq .ops.discard.ops <<<"$j")"
(($(jq .ops.flush.ops <<<"$j") > 0)) || fail "ext4 on a volatile-cache device sent no flush"
assert_ok ublkit del "$dev_id"
log "ext4 on mem and on an NVMe-backed file target: clean fsck, data intact"
