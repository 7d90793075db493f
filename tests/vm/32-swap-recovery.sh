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

# Whoever starts the new server must not need anything that is in swap:
# every swapped-out page waits for that server. 'ublkit recover --wait'
# locks its memory, then waits for the server to die (a shell would itself
# be swapped out and stuck by then, as a test shell was).
ublkit recover --wait --timeout 600 --json "$swap_id" >"$PWD/recover.json" 2>"$PWD/recover.err" &
recover_pid=$!
swap_bg_pids+=("$recover_pid")

# The crash, in the background while run_eater watches the eater.
crash() {
	local used
	sleep "$crash_after"
	used=$(swap_used_kb)
	echo "$used" >"$PWD/crash.used"
	log "crash: $((used / 1024)) MiB in swap; kill -9 server $first_pid of ublk$swap_id"
	kill -9 "$first_pid"
}
crash >"$PWD/crash.log" 2>&1 &
crash_pid=$!
swap_bg_pids+=("$crash_pid")

run_eater "$pct" "$secs" recovery
wait "$crash_pid" || true
cat "$PWD/crash.log"
rc=0
wait "$recover_pid" || rc=$?
cat "$PWD/recover.json" "$PWD/recover.err"
((rc == 0)) || fail "ublkit recover --wait failed (exit $rc)"
swap_pid=$(jq -r .server_pid "$PWD/recover.json")
log "ublk$swap_id live again, server pid $swap_pid"
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
