#!/bin/bash
# kill -9 of a server under heavy I/O: the device reaches DEAD, fio ends,
# 'ublkit orphans' lists it, 'ublkit cleanup' removes it, its id can be
# used again and a second cleanup does nothing. A live device beside it,
# a server paused between ADD and START, and a SIGSTOPped server are all
# left alone.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd fio

# A live neighbour that must survive everything below.
ublk_add --target mem --size 64M --id 1
live_pid=$dev_pid
dd if=/dev/urandom of=/tmp/live bs=1M count=4 status=none
dd if=/tmp/live of=/dev/ublkb1 bs=1M oflag=direct status=none

# A server caught between ADD_DEV and START_DEV.
add_paused 2 --target null --size 1G
assert_eq dead "$(ublk_state 2)" "state of the paused device"
! is_orphan 2 || fail "a server between ADD and START is listed as an orphan"

# The victim, under heavy I/O.
ublk_add --target file --file /dev/nvme0n2 --id 3 --queues 2
victim_pid=$dev_pid
fio --name=heavy --filename=/dev/ublkb3 --ioengine=io_uring --direct=1 --rw=randrw --bs=4k \
	--iodepth=128 --numjobs=2 --time_based --runtime=120 >/tmp/fio.out 2>&1 &
fio_pid=$!
crash_under_fio 3 "$fio_pid" "$victim_pid" 3
wait_state 3 dead 60
wait_for 60 pid_gone "$fio_pid" || fail "fio still runs 60 s after its device died"
wait "$fio_pid" && fail "fio reported success on a device whose server was killed"

assert_ok ublkit orphans
assert_match "^3 +dead" "$(grep '^3 ' <<<"$out")" "orphans line of ublk3"
j=$(ublkit orphans --json)
assert_eq 1 "$(jq length <<<"$j")" "number of orphans"
assert_eq dead "$(jq -r '.[0].reason' <<<"$j")" "orphan reason"
assert_eq "$victim_pid" "$(jq -r '.[0].server_pid' <<<"$j")" "dead server pid"

# ublkit add on the orphan's id points to cleanup.
assert_fails ublkit add --target null --size 1G --id 3
assert_match "orphan.*ublkit cleanup" "$out" "add on an orphan's id"

assert_ok ublkit cleanup --dry-run
ublk_gone 3 && fail "cleanup --dry-run removed the device"
assert_ok ublkit cleanup
assert_match "ublk3: deleted" "$out" "cleanup report"
wait_for 10 ublk_gone 3 || fail "ublk3 left after cleanup"
assert_ok ublkit cleanup
assert_match "no orphaned" "$out" "second cleanup"

# The same id is free again.
ublk_add --target null --size 1G --id 3
assert_ok ublkit del 3

# The neighbours are untouched.
assert_eq live "$(ublk_state 1)" "state of the live neighbour"
assert_eq "$live_pid" "$(ublkit info --json 1 | jq -r .server_pid)" "neighbour's server"
cmp <(dd if=/dev/ublkb1 bs=1M count=4 iflag=direct status=none) /tmp/live ||
	fail "the live neighbour's data changed"
assert_eq dead "$(ublk_state 2)" "the paused device after cleanup"
kill -CONT "$paused_pid"
wait "$paused_add" || fail "the paused add failed after SIGCONT: $(cat /tmp/paused.out)"
assert_eq live "$(ublk_state 2)" "the paused device after SIGCONT"

# A SIGSTOPped server is stopped, not dead.
kill -STOP "$live_pid"
! is_orphan 1 || fail "a SIGSTOPped server is listed as an orphan"
assert_ok ublkit cleanup
assert_eq live "$(ublk_state 1)" "state of the SIGSTOPped server's device after cleanup"
kill -CONT "$live_pid"
cmp <(dd if=/dev/ublkb1 bs=1M count=4 iflag=direct status=none) /tmp/live ||
	fail "data changed across SIGSTOP/SIGCONT"
assert_ok ublkit del 1 2

# Deleting the device of a stopped server continues it so it can drain.
ublk_add --target mem --size 64M --id 4
kill -STOP "$dev_pid"
start=$SECONDS
assert_ok ublkit del --timeout 20 4
((SECONDS - start < 15)) || fail "del of a stopped server's device took $((SECONDS - start)) s"
ublk_gone 4 || fail "ublk4 left after del"
wait_for 10 pid_gone "$dev_pid" || fail "the stopped server did not exit"
assert_eq 0 "$(ublk_count)" "devices left"
