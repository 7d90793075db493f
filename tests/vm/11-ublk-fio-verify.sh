#!/bin/bash
# Data integrity under load: fio random writes of mixed sizes with crc32c
# verification, on every target that stores data, with 1, 2 and 4 queues;
# the null target takes the same load without verification.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd fio

tmpfs_file /mnt/tmpfs/backing 128M

verify() { # DEVICE JOBS
	run fio --name=verify --filename="$1" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --bs_unaligned=0 --iodepth=32 --numjobs=1 \
		--size=48M --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randrepeat=0 --output-format=terse --minimal >/tmp/fio.out ||
		{ cat /tmp/fio.out; fail "fio verify failed on $1"; }
	ublkit stats --json "$dev_id" >/tmp/stats.json
	local errs
	errs=$(jq '[.ops[] | .errors] | add' /tmp/stats.json)
	assert_eq 0 "$errs" "I/O errors counted by the server"
}

for q in 1 2 4; do
	ublk_add --target mem --size 128M --queues "$q"
	verify "$dev_path"
	log "mem, $q queue(s): verified"
	assert_ok ublkit del "$dev_id"

	ublk_add --target file --file /mnt/tmpfs/backing --queues "$q"
	verify "$dev_path"
	log "file on tmpfs, $q queue(s): verified"
	assert_ok ublkit del "$dev_id"

	ublk_add --target file --file /dev/nvme0n1 --queues "$q"
	verify "$dev_path"
	log "file on NVMe, $q queue(s): verified"
	assert_ok ublkit del "$dev_id"

	ublk_add --target null --size 1G --queues "$q"
	run fio --name=null --filename="$dev_path" --ioengine=io_uring --direct=1 \
		--rw=randrw --bsrange=4k-128k --iodepth=32 --size=256M --minimal >/dev/null ||
		fail "fio failed on null"
	log "null, $q queue(s): load without errors"
	assert_ok ublkit del "$dev_id"
done
assert_eq 0 "$(ublk_count)" "devices left"
