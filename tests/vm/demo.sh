#!/bin/bash
# ublkit's main job, shown step by step: check the system, load the
# driver, serve block devices from userspace (RAM and an NVMe namespace),
# put a file system on one, read the statistics, survive a server crash,
# then provision swap on an NVMe namespace from a policy (one of the
# installed example configurations) and take it down again. Run by
# scripts/demo: on the host when its kernel has ublk, else in the test VM
# (tests/vm/run --demo). The NVMe parts overwrite namespaces, so they run
# only in the test VM, whose namespaces are blank files.
. "$(dirname "$0")/lib.sh"

step() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

need_cmd ublkit jq mkfs.ext4
in_test_vm() { [[ -n ${UBLKIT_VM_DIR:-} ]]; }
cleanup() {
	if in_test_vm; then
		ublkit down --all >/dev/null 2>&1 || true
		rm -f /etc/ublkit/ublkit.conf
	fi
	ublkit del --all >/dev/null 2>&1 || true
	umount /mnt/demo 2>/dev/null || true
}
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

if ! in_test_vm; then
	echo
	echo "(The NVMe parts of the demo overwrite namespaces: they run in the test VM only;"
	echo " UBLKIT_DEMO_VM=1 scripts/demo runs it there.)"
elif nvme=$(nvme_ns_dev 1); then
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

if in_test_vm && ns=$(nvme_ns_dev 1); then
	show ublkit del 7
	wipefs -a -q "$ns"
	example=""
	for f in /usr/share/doc/ublkit*/examples/ublk-swap.conf; do
		[[ -f $f ]] && example=$f
	done
	[[ -n $example ]] || fail "no example configuration ublk-swap.conf installed"
	step "The provisioning policy: swap on every spare NVMe namespace of 1 GiB or more"
	mkdir -p /etc/ublkit
	show cp "$example" /etc/ublkit/ublkit.conf
	show cat /etc/ublkit/ublkit.conf
	show ublkit check-config
	show ublkit nvme list

	step "What applying it would do (nothing changes yet)"
	show ublkit apply --dry-run

	step "Apply it: a hardened ublk server over $ns, formatted and swapped on"
	show ublkit apply
	show ublkit status
	show swapon --show
	swap_id=$(ublkit swap status --json | jq -r '.[0].id')
	echo
	echo "The server locks its memory, its threads are I/O flushers, the OOM killer"
	echo "spares it: swapping out to it under memory pressure cannot deadlock."
	show ublkit info "$swap_id"

	step "Apply again: everything is in place, nothing changes"
	show ublkit apply

	step "Down: swapoff first (only if memory can take the pages back), then the device"
	show ublkit down --all
	show swapon --show
	rm -f /etc/ublkit/ublkit.conf
fi

step "Remove everything"
show ublkit del --all
show ublkit list
rm -rf "$work"
