#!/bin/bash
# Swap on a ublk device over an NVMe namespace in a 512 MiB guest, under a
# process that touches 175% of RAM for two minutes: every page reads back
# what was written, hundreds of MiB go to swap, the guest never stalls for
# more than 10 s, no task hangs, and the swap server itself stays in memory
# in every sample taken once a second (locked, no swap of its own,
# IO_FLUSHER on every thread) and 'ublkit info' calls it swap-safe. A swap
# off while its pages cannot come back is refused, naming the fix; then
# swapoff succeeds and the device goes away.
# vm-mem: 512
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
. "$(dirname "$0")/lib-swap.sh"

pct=${SWAP_TEST_PERCENT:-175}
secs=${SWAP_TEST_SECONDS:-120}
max_gap=10

log "guest: $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB RAM, $(nproc) cpus;" \
	"'ublkit swap' $(swap_hardened && echo present || echo 'missing: stand-in, hardening reported only')"
[[ $(swap_used_kb) == 0 && $(wc -l </proc/swaps) == 1 ]] || fail "swap already in use: $(cat /proc/swaps)"
ns=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
swap_on_ublk "$ns"
cat /proc/swaps
# (hardening_check also asserts that 'ublkit info --json' reports this
# server and swap_safe true.)
hardening_check "$swap_pid" "at start"

run_eater "$pct" "$secs" pressure
hardening_check "$swap_pid" "after the run"

log "server peaks: VmSwap $peak_vmswap_kb kB, VmRSS $max_rss_kb kB, smallest VmLck - VmRSS $min_lock_margin_kb kB"
((peak_swap_kb >= 200 * 1024)) || fail "peak swap used $((peak_swap_kb / 1024)) MiB: under 200 MiB, no real pressure"
awk -v g="$eater_gap" -v m="$max_gap" 'BEGIN { exit !(g <= m) }' ||
	fail "the eater's heartbeat stopped for ${eater_gap}s (limit ${max_gap}s)"
sampler_assert "$eater_samples" "server $swap_pid under pressure"

# swap off while its pages cannot come back: refused before swapoff(2)
# (which would make the kernel OOM-kill instead of failing); swap stays on,
# the device and its server stay, and the eater still verifies.
if swap_hardened; then
	"$memeater" -t 60 -q 150 >"$PWD/hold.out" 2>&1 &
	hold=$!
	swap_bg_pids+=("$hold")
	wait_for 50 sh -c "[ \$(awk 'NR > 1 {s += \$4} END {print s + 0}' /proc/swaps) -gt 204800 ]" ||
		fail "the second eater did not push 200 MiB to swap"
	rc=0
	out=$(ublkit swap off "$swap_id" 2>&1) || rc=$?
	printf '%s\n' "$out"
	assert_eq 1 "$rc" "exit status of swap off under pressure"
	assert_match "swap stays on" "$out" "the refusal says swap stays on"
	assert_match "free memory or add swap first" "$out" "the refusal names the fix"
	grep -q "^$swap_dev " /proc/swaps || fail "swap was turned off although it was refused"
	assert_block "$swap_dev"
	kill -0 "$swap_pid" || fail "the swap server went away although swap off was refused"
	info_swap_safe "$swap_id" "$swap_pid" "after the refused swap off, under pressure" ||
		fail "ublkit info does not call the server swap-safe after the refused swap off"
	wait "$hold" || fail "the eater failed while swap off was refused: $(cat "$PWD/hold.out")"
	log "swap off refused under pressure, nothing torn down; the eater verified"
fi

swap_off_ublk "$swap_id"
assert_eq 0 "$(ublk_count)" "ublk devices left"
assert_no_hung_task
log "PASS: peak swap $((peak_swap_kb / 1024)) MiB, largest heartbeat gap ${eater_gap}s"
