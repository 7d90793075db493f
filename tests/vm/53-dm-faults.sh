#!/bin/bash
# Faults below: dm-error and dm-flakey (created with dmsetup) under a ublkit
# file device and under a ublkit linear device. Errors reach fio as EIO,
# nothing hangs, the kernel does not warn (checked by guest-run). A remove
# while a process holds the device, or while it is mounted, is refused with
# the holder named. A striped device with a failing leg reports a failed
# event to 'ublkit dm watch'.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd mkfs.ext4 timeout
holder_pid='' watch_pid=''
cleanup() {
	[[ -z $holder_pid ]] || kill "$holder_pid" 2>/dev/null || true
	[[ -z $watch_pid ]] || kill "$watch_pid" 2>/dev/null || true
	umount /mnt/dmtest 2>/dev/null || true
	ublkit del --all >/dev/null 2>&1 || true
	dm_cleanup
	dmsetup remove err0 2>/dev/null || true
	dmsetup remove flk0 2>/dev/null || true
	dmsetup remove ok0 2>/dev/null || true
}
trap cleanup EXIT
wipefs -a -q "$ns2"
sectors=$((64 * 2048))	# 64 MiB

# fio reads and writes that must fail with EIO, within a time limit
fio_eio() { # DEVICE WHAT
	local rc=0
	timeout 120 fio --name=eio --filename="$1" --ioengine=io_uring --direct=1 --rw=randrw \
		--bs=4k --iodepth=8 --size=16M --runtime=5 --time_based --continue_on_error=none \
		--output=/tmp/fio-eio.out >/dev/null 2>&1 || rc=$?
	((rc != 124)) || fail "fio hung on $2"
	((rc != 0)) || { cat /tmp/fio-eio.out; fail "fio saw no error on $2"; }
	grep -q "Input/output error\|err=\s*5" /tmp/fio-eio.out ||
		{ cat /tmp/fio-eio.out; fail "fio on $2 did not fail with EIO"; }
	log "$2: fio failed with EIO (status $rc)"
}

run dmsetup create err0 --table "0 $sectors error"
run dmsetup create flk0 --table "0 $sectors flakey $ns2 0 0 3600"

for lower in err0 flk0; do
	# under a ublkit file device
	ublk_add --target file --file "/dev/mapper/$lower"
	fio_eio "$dev_path" "ublk file over $lower"
	assert_ok ublkit del "$dev_id"
	# under a ublkit linear device
	assert_ok ublkit dm create linear "lin-$lower" --device "/dev/mapper/$lower"
	fio_eio "/dev/mapper/lin-$lower" "linear over $lower"
	assert_ok ublkit dm remove "lin-$lower"
done
# a striped device with one failing leg: its target signals, 'dm watch' says it failed
run dmsetup create ok0 --table "0 $sectors linear $ns2 $sectors"
assert_ok ublkit dm create striped str-err --device /dev/mapper/ok0 --device /dev/mapper/err0
ublkit dm watch --json --count 1 --timeout 60 >/tmp/watch.json 2>&1 &
watch_pid=$!
sleep 1
fio_eio /dev/mapper/str-err "striped over ok0 and err0"
wait "$watch_pid" || { cat /tmp/watch.json; fail "dm watch saw no event"; }
watch_pid=
cat /tmp/watch.json
assert_eq failed "$(jq -r .event /tmp/watch.json)" "event of the striped device"
assert_eq str-err "$(jq -r .name /tmp/watch.json)" "device of the event"
assert_ok ublkit dm status str-err --json
assert_eq 1 "$(jq -r .status.stripes_failed <<<"$out")" "failed stripes"
assert_eq true "$(jq -r .status.failed <<<"$out")" "status failed"
assert_ok ublkit dm remove str-err
assert_ok dmsetup remove ok0 flk0 err0
nothing_left "the faults"

# --- a remove while the device is in use is refused, naming the holder ------
assert_ok ublkit dm create linear busy0 --device "$ns2" --length 64M
# shellcheck disable=SC2217 # the open fd is the point
sleep 300 </dev/mapper/busy0 &
holder_pid=$!
wait_for 5 test -e "/proc/$holder_pid/fd/0"
assert_fails ublkit dm remove busy0
assert_match "open in process $holder_pid \(sleep\)" "$out" "the holding process is named"
assert_block /dev/mapper/busy0
kill "$holder_pid"
wait "$holder_pid" 2>/dev/null || true
holder_pid=
run mkfs.ext4 -q /dev/mapper/busy0
mkdir -p /mnt/dmtest
run mount /dev/mapper/busy0 /mnt/dmtest
assert_fails ublkit dm remove busy0
assert_match "mounted on /mnt/dmtest" "$out" "the mount point is named"
run umount /mnt/dmtest
cookies_clear
assert_ok ublkit dm remove busy0
nothing_left "removing busy0"
