#!/bin/bash
# A swap server with user recovery is killed (kill -9) while a process
# that touches 175% of RAM has hundreds of MiB in swap; 'ublkit recover'
# starts a new server under that pressure, the device comes back LIVE,
# every page of the process still verifies, no task hangs, and the new
# server is hardened like the first: sampled once a second while the
# pressure goes on, it has VmSwap 0, VmLck covering VmRSS and IO_FLUSHER
# on every thread, and 'ublkit info' calls it swap-safe.
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

# The crash, in the background while run_eater watches the eater: after
# crash_after seconds, once at least 150 MiB are in swap (a slow host
# fills memory later), and no later than 30 s before the eater stops.
crash() {
	local used t0=$SECONDS
	sleep "$crash_after"
	used=$(swap_used_kb)
	while ((used < 150 * 1024 && SECONDS - t0 < secs - 30)); do
		sleep 1
		used=$(swap_used_kb)
	done
	echo "$used" >"$PWD/crash.used"
	echo $((SECONDS - t0)) >"$PWD/crash.at"
	log "crash: $((used / 1024)) MiB in swap; kill -9 server $first_pid of ublk$swap_id"
	kill -9 "$first_pid"
}
crash >"$PWD/crash.log" 2>&1 &
crash_pid=$!
swap_bg_pids+=("$crash_pid")

# The sampler of run_eater follows the first server's pid, gone at the
# crash. This one waits for 'ublkit recover' to name the new server, asks
# 'ublkit info' about it once while the eater runs, and samples it until
# the test stops it. Builtins only while waiting, as in the sampler.
follow_recovered() { # SAMPLES
	local txt='' pid
	until [[ $txt =~ \"server_pid\":\ *([0-9]+) ]] && [[ $txt == *'"state": "live"'* ]]; do
		sleep 1
		IFS= read -r -d '' txt 2>/dev/null <"$PWD/recover.json" || true
	done
	pid=${BASH_REMATCH[1]}
	echo "$pid" >"$PWD/recovered.pid"
	(sleep 5 && ublkit info --json "$swap_id" >"$PWD/recovered.info" 2>&1) &
	swap_sampler "$pid" "$1"
}
recovered_samples=$PWD/recovered.samples
: >"$recovered_samples"
: >"$recovered_samples.threads"
follow_recovered "$recovered_samples" &
follow_pid=$!
swap_bg_pids+=("$follow_pid")

run_eater "$pct" "$secs" recovery
wait "$crash_pid" || true
cat "$PWD/crash.log"
kill "$follow_pid" 2>/dev/null || true
wait "$follow_pid" 2>/dev/null || true
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

# The first server until just before the crash (the sampler's clock starts
# with the eater, a moment after the crash's own), then the new one for
# as long as the eater went on after the recovery.
sampler_assert "$eater_samples" "first server $first_pid under pressure, before the crash" 0 \
	$(($(cat "$PWD/crash.at") - 3))
[[ -s $PWD/recovered.pid ]] || fail "the recovered server was never sampled"
assert_eq "$swap_pid" "$(cat "$PWD/recovered.pid")" "the sampled recovered server"
log "samples of the recovered server $swap_pid:"
sampler_timeline "$recovered_samples"
under=$(awk '$3 >= 0 && $2 >= 100 * 1024' "$recovered_samples" | wc -l)
log "$under samples of the recovered server with at least 100 MiB in swap"
((under >= 10)) || fail "the recovered server was sampled only $under times under pressure (100 MiB or more in swap)"
sampler_assert "$recovered_samples" "recovered server $swap_pid under pressure"
[[ -s $PWD/recovered.info ]] || fail "no 'ublkit info --json' of the recovered server under pressure"
jq -e . "$PWD/recovered.info" >/dev/null || fail "'ublkit info --json' under pressure: $(cat "$PWD/recovered.info")"
assert_eq "$swap_pid" "$(jq -r .server_pid "$PWD/recovered.info")" "server_pid in 'ublkit info' under pressure"
assert_eq true "$(jq -r .swap_safe "$PWD/recovered.info")" \
	"swap_safe of the recovered server under pressure ($(jq -r .swap_safe_reason "$PWD/recovered.info"))"

(($(cat "$PWD/crash.used") >= 100 * 1024)) || fail "too little in swap at the crash for the test to mean anything"
((peak_swap_kb >= 200 * 1024)) || fail "peak swap used $((peak_swap_kb / 1024)) MiB: under 200 MiB"
awk -v g="$eater_gap" -v m="$max_gap" 'BEGIN { exit !(g <= m) }' ||
	fail "the eater's heartbeat stopped for ${eater_gap}s (limit ${max_gap}s)"

swap_off_ublk "$swap_id"
assert_eq 0 "$(ublk_count)" "ublk devices left"
assert_no_hung_task
log "PASS: peak swap $((peak_swap_kb / 1024)) MiB, largest heartbeat gap ${eater_gap}s across the crash"
