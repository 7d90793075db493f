#!/bin/bash
# Kills at awkward moments: during start-up (after ADD, before START),
# during recovery; then twenty kill/cleanup cycles in a row. Nothing
# hangs, no id leaks.
# vm-timeout: 900
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"

# Killed between ADD_DEV and START_DEV.
add_paused 4 --target null --size 1G
kill -9 "$paused_pid"
wait "$paused_add" && fail "ublkit add succeeded although its server was killed"
wait_for 60 is_orphan 4 || fail "a server killed during start-up left no orphan"
assert_ok ublkit cleanup
wait_for 10 ublk_gone 4 || fail "ublk4 left after cleanup"
log "kill during start-up: cleaned"

# Killed during recovery.
ublk_add --target file --file /dev/nvme0n2 --recovery --id 6
kill -9 "$dev_pid"
wait_state 6 quiesced 60
LD_PRELOAD=$vm_bin/stop-before-start.so ublkit recover 6 >/tmp/rec.out 2>&1 &
rec=$!
# The recovering server is its own process (not ublkit recover's child).
rec_server() { pgrep -f -- 'ublkit-server.*--recover=6' | head -n1; }
server_stopped_rec() {
	local p
	p=$(rec_server)
	[[ -n $p && $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == T ]]
}
wait_for 30 server_stopped_rec || fail "the recovering server did not stop before END_USER_RECOVERY"
rpid=$(rec_server)
kill -9 "$rpid"
wait "$rec" && fail "ublkit recover succeeded although its server was killed"
wait_state 6 quiesced 60
assert_ok ublkit cleanup --no-recover
wait_for 30 ublk_gone 6 || fail "ublk6 left after cleanup"
log "kill during recovery: cleaned"

# Twenty kill/cleanup cycles.
for i in $(seq 1 20); do
	ublk_add --target null --size 256M --id 9 --queues 2
	kill -9 "$dev_pid"
	wait_state 9 dead 60
	out=$(ublkit cleanup) || fail "cleanup failed in cycle $i: $out"
	wait_for 10 ublk_gone 9 || fail "ublk9 left after cleanup in cycle $i"
done
assert_ok ublkit cleanup
assert_match "no orphaned" "$out" "after the cycles"
assert_eq 0 "$(ublk_count)" "devices left"
log "20 kill/cleanup cycles: no hang, no leaked id"
