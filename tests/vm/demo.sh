#!/bin/bash
# ublkit's main job, shown step by step: check the system, load the
# driver, serve block devices from userspace (RAM and an NVMe namespace),
# put a file system on one, read the statistics, survive a server crash,
# clean up. Run by scripts/demo: on the host when its kernel has ublk,
# else in the test VM (tests/vm/run --demo).
. "$(dirname "$0")/lib.sh"

step() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

need_cmd ublkit jq mkfs.ext4
cleanup() { ublkit del --all >/dev/null 2>&1 || true; umount /mnt/demo 2>/dev/null || true; }
trap cleanup EXIT
work=$(mktemp -d)

step "Can ublkit run here?"
show ublkit doctor || fail "ublkit doctor says ublkit cannot run here"

step "Load the ublk driver through libkmod"
show ublkit modprobe ublk_drv

step "A 256 MiB RAM disk served by its own ublkit server process"
show ublkit add --target mem --size 256M --queues 2
mem_id=$(ublkit list --json | jq -r '[.[] | select(.target == "mem")][0].id')
show lsblk -o NAME,SIZE,TYPE,RO,LOG-SEC "/dev/ublkb$mem_id"

step "ext4 on it: write, read back, fsck"
show mkfs.ext4 -q "/dev/ublkb$mem_id"
mkdir -p /mnt/demo
show mount "/dev/ublkb$mem_id" /mnt/demo
dd if=/dev/urandom of="$work/data" bs=1M count=16 status=none
show cp "$work/data" /mnt/demo/data
show umount /mnt/demo
show e2fsck -fn "/dev/ublkb$mem_id"
show ublkit stats "$mem_id"

if [[ -b /dev/nvme0n1 ]]; then
	nvme=/dev/nvme0n1
	step "An NVMe namespace served through ublkit, with crash recovery"
	show ublkit add --target file --file "$nvme" --recovery --id 7
	show ublkit list
	pid=$(ublkit info --json 7 | jq -r .server_pid)
	dd if="$work/data" of=/dev/ublkb7 bs=1M oflag=direct status=none

	step "Kill its server (kill -9 $pid): the device is quiesced, not lost"
	show kill -9 "$pid"
	wait_for 60 sh -c "ublkit list --json | jq -e '.[] | select(.id == 7 and .state == \"quiesced\")'" ||
		fail "ublk7 did not become quiesced"
	show ublkit orphans
	show ublkit cleanup
	show ublkit list
	cmp <(dd if=/dev/ublkb7 bs=1M count=16 iflag=direct status=none) "$work/data" ||
		fail "data changed across the crash"
	echo "16 MiB written before the crash read back intact"
fi

ns2=$(nvme_ns_dev 2 || true)
if [[ -n $ns2 ]]; then
	wipefs -a -q "$ns2"
	step "Swap on NVMe namespace $ns2 through a hardened ublkit server"
	show ublkit swap on --file "$ns2" --priority 10
	swap_id=$(ublkit swap status --json | jq -r '.[0].id')
	show ublkit swap status
	echo "The server locks its memory, its threads are I/O flushers, the OOM killer"
	echo "spares it: swapping out to it under memory pressure cannot deadlock."
	show ublkit info "$swap_id"
	show swapon --show
	step "Swap off: the pages come back first, then the device goes"
	show ublkit swap off "$swap_id"
fi

step "Remove everything"
show ublkit del --all
show ublkit list
rm -rf "$work"
