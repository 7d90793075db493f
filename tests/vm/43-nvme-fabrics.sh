#!/bin/bash
# A fabrics namespace: the guest's own NVMe target (nvmet, loop transport)
# exports a file, 'nvme connect' attaches it, and ublkit nvme list shows
# it with transport loop and an identity from the NGUID the target hands
# out.
# vm-timeout: 180
. "$(dirname "$0")/lib.sh"

need_cmd ublkit nvme jq truncate

nqn=nqn.2024-01.org.ublkit:loop-test
nguid=0123456789abcdef0123456789abcdef
cfg=/sys/kernel/config/nvmet
work=$(mktemp -d)

modprobe nvmet || skip "no nvmet module"
modprobe nvme-loop || skip "no nvme-loop module"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config

cleanup() {
	nvme disconnect -n "$nqn" >/dev/null 2>&1 || true
	rm -f "$cfg/ports/9/subsystems/$nqn" 2>/dev/null || true
	rmdir "$cfg/ports/9" 2>/dev/null || true
	echo 0 >"$cfg/subsystems/$nqn/namespaces/1/enable" 2>/dev/null || true
	rmdir "$cfg/subsystems/$nqn/namespaces/1" 2>/dev/null || true
	rmdir "$cfg/subsystems/$nqn" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

run truncate -s 64M "$work/backing"
mkdir "$cfg/subsystems/$nqn"
echo 1 >"$cfg/subsystems/$nqn/attr_allow_any_host"
mkdir "$cfg/subsystems/$nqn/namespaces/1"
echo "$work/backing" >"$cfg/subsystems/$nqn/namespaces/1/device_path"
echo "$nguid" >"$cfg/subsystems/$nqn/namespaces/1/device_nguid"
echo 1 >"$cfg/subsystems/$nqn/namespaces/1/enable"
mkdir "$cfg/ports/9"
echo loop >"$cfg/ports/9/addr_trtype"
ln -s "$cfg/subsystems/$nqn" "$cfg/ports/9/subsystems/$nqn"
assert_ok nvme connect -t loop -n "$nqn"
udevadm settle -t 30

find_dev() {
	local b
	for b in /sys/block/nvme*n*; do
		[[ ${b##*/} != nvme*c*n* ]] || continue
		[[ $(cat "$b/device/subsysnqn" 2>/dev/null) == "$nqn" ]] || continue
		echo "/dev/${b##*/}"
		return 0
	done
	return 1
}
wait_for 10 find_dev || fail "no block device for $nqn"
dev=$(find_dev)
log "the loop namespace is $dev"

assert_ok ublkit nvme list
assert_match "$dev" "$out" "plain list shows $dev"
assert_ok ublkit nvme list --json
o=$(jq -c --arg d "$dev" '.[] | select(.device == $d)' <<<"$out")
[[ -n $o ]] || fail "ublkit nvme list has no $dev"
log "$o"
assert_eq loop "$(jq -r .transport <<<"$o")" "transport"
assert_eq "$nqn" "$(jq -r .subsystem_nqn <<<"$o")" "subsystem NQN"
assert_eq 1 "$(jq -r .nsid <<<"$o")" "nsid"
assert_eq $((64 << 20)) "$(jq -r .size <<<"$o")" "size"
assert_eq "$nguid" "$(jq -r .nguid <<<"$o")" "NGUID"
assert_eq "nguid.$nguid" "$(jq -r .identity <<<"$o")" "identity from the NGUID"
# the target makes up a UUID for the namespace; Identify reports it
assert_eq "$(cat "$cfg/subsystems/$nqn/namespaces/1/device_uuid")" "$(jq -r .uuid <<<"$o")" "UUID"
# multipath: one path, through the loop controller
assert_eq 1 "$(jq -r '.paths | length' <<<"$o")" "paths"
assert_eq "$(jq -r .controller <<<"$o")" "$(jq -r '.paths[0].controller' <<<"$o")" "controller of the path"
assert_eq free "$(jq -r .holder <<<"$o")" "holder"
# the PCIe namespaces are still there
assert_eq 2 "$(jq '[.[] | select(.transport == "pcie")] | length' <<<"$out")" "PCIe namespaces"
ctrl=$(jq -r .controller <<<"$o")
assert_ok ublkit nvme info "$dev" --json
assert_eq loop "$(jq -r .controller.transport <<<"$out")" "info: transport"
assert_eq "$ctrl" "$(jq -r .controller.name <<<"$out")" "info: controller"
jq -e '.health != null' <<<"$out" >/dev/null || fail "no health log for $ctrl: $(jq -r .health_error <<<"$out")"

assert_ok nvme disconnect -n "$nqn"
wait_for 10 bash -c "! ublkit nvme list --json | jq -e --arg d '$dev' 'any(.[]; .device == \$d)'" ||
	fail "$dev still listed after disconnect"
log "fabrics (loop) namespace listed with transport loop and its NGUID"
