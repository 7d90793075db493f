#!/bin/bash
# Deleting a device under I/O and SIGTERM to its server under I/O: fio
# ends (with errors), nothing hangs, no device or server is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd fio

load() { # DEVICE: fio for up to 60 s in the background; sets fio_pid
	fio --name=load --filename="$1" --ioengine=io_uring --direct=1 --rw=randrw \
		--bs=4k --iodepth=64 --numjobs=2 --time_based --runtime=60 \
		--output=/tmp/fio-load.out >/dev/null 2>&1 &
	fio_pid=$!
	sleep 3
	kill -0 "$fio_pid" || fail "fio did not start"
}

ublk_add --target mem --size 128M --queues 2
load "$dev_path"
assert_ok ublkit del "$dev_id"
wait_for 30 pid_gone "$fio_pid" || fail "fio still runs 30 s after del"
wait "$fio_pid" || true
ublk_gone "$dev_id" || fail "ublk$dev_id left after del under I/O"
wait_for 10 pid_gone "$dev_pid" || fail "server left after del under I/O"
log "del under I/O: fio ended, device and server gone"

ublk_add --target file --file /dev/nvme0n2 --queues 2
load "$dev_path"
kill -TERM "$dev_pid"
wait_for 30 pid_gone "$fio_pid" || fail "fio still runs 30 s after SIGTERM to the server"
wait "$fio_pid" || true
wait_for 30 ublk_gone "$dev_id" || fail "ublk$dev_id left after SIGTERM under I/O"
wait_for 10 pid_gone "$dev_pid" || fail "server did not exit on SIGTERM"
assert_eq 0 "$(ublk_count)" "devices left"
log "SIGTERM under I/O: fio ended, device and server gone"
