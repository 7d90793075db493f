#!/bin/bash
# Swap on a dm-crypt device with a random key (ublkit dm create crypt)
# over an NVMe namespace, in a 512 MiB guest, under a process that touches
# 175% of RAM: every page verifies, hundreds of MiB go through the cipher
# to swap, the guest never stalls for more than 10 s. Then swapoff, and the
# device goes with nothing left behind.
# vm-mem: 512
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
. "$(dirname "$0")/lib-swap.sh"
need_cmd dmsetup

pct=${SWAP_TEST_PERCENT:-175}
secs=${SWAP_TEST_SECONDS:-90}
max_gap=10

crypt_cleanup() {
	swapoff /dev/mapper/cswap 2>/dev/null || true
	ublkit dm remove cswap >/dev/null 2>&1 || true
	swap_cleanup
}
trap crypt_cleanup EXIT

[[ $(swap_used_kb) == 0 && $(wc -l </proc/swaps) == 1 ]] || fail "swap already in use: $(cat /proc/swaps)"
ns=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
wipefs -a -q "$ns"
assert_ok ublkit dm create crypt cswap --device "$ns" --json
run mkswap -q -L cryptswap /dev/mapper/cswap >/dev/null
run swapon /dev/mapper/cswap
cat /proc/swaps
# No server here: the sampler watches this shell.
swap_pid=$$

run_eater "$pct" "$secs" crypt
((peak_swap_kb >= 200 * 1024)) || fail "peak swap used $((peak_swap_kb / 1024)) MiB: under 200 MiB, no real pressure"
awk -v g="$eater_gap" -v m="$max_gap" 'BEGIN { exit !(g <= m) }' ||
	fail "the eater's heartbeat stopped for ${eater_gap}s (limit ${max_gap}s)"

run swapoff /dev/mapper/cswap
# swapoff makes udev probe the device again; let that finish first.
udevadm settle
assert_ok ublkit dm remove cswap
[[ -z $(dmsetup ls 2>/dev/null | awk 'NF == 2 && $1 != "No"') ]] || fail "dm devices left: $(dmsetup ls)"
[[ -z $(dmsetup udevcookies | tail -n +2) ]] || fail "udev cookies left behind"
log "PASS: peak swap $((peak_swap_kb / 1024)) MiB through dm-crypt, largest heartbeat gap ${eater_gap}s"
