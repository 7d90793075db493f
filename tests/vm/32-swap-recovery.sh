#!/bin/bash
# A swap server with user recovery is killed (kill -9) while a process
# that touches 175% of RAM has hundreds of MiB in swap; 'ublkit recover'
# starts a new server under that pressure, the device comes back LIVE,
# every page of the process still verifies, and the new server is
# hardened like the first.
# vm-mem: 512
# vm-timeout: 720
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
. "$(dirname "$0")/lib-swap.sh"
swap_hardened || skip "this ublkit has no 'ublkit swap' (swap on a hardened server with --recovery)"

pct=${SWAP_TEST_PERCENT:-175}
secs=${SWAP_TEST_SECONDS:-150}
crash_after=${SWAP_TEST_CRASH_AFTER:-45}
# The swap device is away between the crash and the recovery: the eater
# may wait for it, but not for longer than this.
max_gap=60

[[ $(swap_used_kb) == 0 ]] || fail "swap already in use: $(cat /proc/swaps)"
ns=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
swap_on_ublk "$ns" --recovery
assert_eq true "$(ublkit info --json "$swap_id" | jq -r .recovery)" "recovery flag"
hardening_check "$swap_pid" "first server"
first_pid=$swap_pid

# Crash and recover in the background while run_eater watches the eater.
crash_and_recover() {
	local used new
	sleep "$crash_after"
	used=$(swap_used_kb)
	log "crash: $((used / 1024)) MiB in swap; kill -9 server $first_pid of ublk$swap_id"
	((used >= 100 * 1024)) || log "WARNING: only $((used / 1024)) MiB in swap at the crash"
	kill -9 "$first_pid"
	wait_state "$swap_id" quiesced 60
	log "ublk$swap_id quiesced; ublkit recover $swap_id"
	ublkit recover "$swap_id" || { log "ublkit recover failed"; exit 1; }
	wait_state "$swap_id" live 60
	new=$(ublkit info --json "$swap_id" | jq -r .server_pid)
	log "ublk$swap_id live again, server pid $new"
	echo "$new" >"$PWD/recovered.pid"
	echo "$used" >"$PWD/crash.used"
}
crash_and_recover >"$PWD/crash.log" 2>&1 &
crash_pid=$!
swap_bg_pids+=("$crash_pid")

run_eater "$pct" "$secs" recovery
crc=0
wait "$crash_pid" || crc=$?
cat "$PWD/crash.log"
((crc == 0)) || fail "crash and recovery failed (exit $crc)"
swap_pid=$(cat "$PWD/recovered.pid")
[[ $swap_pid != "$first_pid" ]] || fail "the server pid did not change"
assert_eq live "$(ublk_state "$swap_id")" "state after recovery"
grep -q "^$swap_dev " /proc/swaps || fail "$swap_dev left /proc/swaps"
hardening_check "$swap_pid" "recovered server"

(($(cat "$PWD/crash.used") >= 100 * 1024)) || fail "too little in swap at the crash for the test to mean anything"
((peak_swap_kb >= 200 * 1024)) || fail "peak swap used $((peak_swap_kb / 1024)) MiB: under 200 MiB"
awk -v g="$eater_gap" -v m="$max_gap" 'BEGIN { exit !(g <= m) }' ||
	fail "the eater's heartbeat stopped for ${eater_gap}s (limit ${max_gap}s)"

swap_off_ublk "$swap_id"
assert_eq 0 "$(ublk_count)" "ublk devices left"
log "PASS: peak swap $((peak_swap_kb / 1024)) MiB, largest heartbeat gap ${eater_gap}s across the crash"
