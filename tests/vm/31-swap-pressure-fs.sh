#!/bin/bash
# Swap on ublk under memory pressure, as in 30-swap-pressure.sh, while an
# ext4 on a second ublk device (a plain 'file' server on the other NVMe
# namespace) takes dirty page-cache writes with periodic syncs: swap-out
# and file writeback compete for memory and both go through ublk servers.
# Every page verifies, the guest never stalls for more than 10 s, no task
# hangs, the swap server stays in memory with IO_FLUSHER on every thread
# in every sample, the written files read back and the file system fscks
# clean.
# vm-mem: 512
# vm-timeout: 720
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
. "$(dirname "$0")/lib-swap.sh"
need_cmd mkfs.ext4 e2fsck sha256sum

pct=${SWAP_TEST_PERCENT:-175}
secs=${SWAP_TEST_SECONDS:-120}
max_gap=10

log "guest: $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB RAM, $(nproc) cpus;" \
	"'ublkit swap' $(swap_hardened && echo present || echo 'missing: stand-in, hardening reported only')"
[[ $(swap_used_kb) == 0 ]] || fail "swap already in use: $(cat /proc/swaps)"
swap_ns=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
fs_ns=$(nvme_ns_dev 2) || fail "no NVMe namespace 2"
swap_on_ublk "$swap_ns"
hardening_check "$swap_pid" "at start"

ublk_add --target file --file "$fs_ns" --queues 2
fs_id=$dev_id fs_dev=$dev_path
run mkfs.ext4 -q -F "$fs_dev"
mkdir -p /mnt/fs
run mount "$fs_dev" /mnt/fs
# A file written before the pressure that must read back unchanged.
dd if=/dev/urandom of=/mnt/fs/before bs=1M count=16 status=none
sync
sha_before=$(sha256sum </mnt/fs/before)

# The writer: 32 MiB files in turn, a sync after every second one. It
# counts what it wrote; the last file it completed must read back.
writer() {
	local i=0
	# SIGTERM ends the loop once the running dd is done, so that
	# nothing holds the file system when the test unmounts it.
	trap 'exit 0' TERM
	while :; do
		dd if=/dev/zero of=/mnt/fs/w$((i % 4)) bs=1M count=32 status=none || exit 1
		((i % 2 == 0)) || sync
		i=$((i + 1))
		echo "$i" >/mnt/fs/count.tmp && mv /mnt/fs/count.tmp /mnt/fs/count
	done
}
writer &
writer_pid=$!
swap_bg_pids+=("$writer_pid")

run_eater "$pct" "$secs" pressure-fs
kill -0 "$writer_pid" || fail "the writer died during the run"
kill "$writer_pid"
wait "$writer_pid" 2>/dev/null || true
written=$(cat /mnt/fs/count 2>/dev/null || echo 0)
log "the writer wrote $written x 32 MiB during the run"
hardening_check "$swap_pid" "after the run"

((peak_swap_kb >= 200 * 1024)) || fail "peak swap used $((peak_swap_kb / 1024)) MiB: under 200 MiB, no real pressure"
awk -v g="$eater_gap" -v m="$max_gap" 'BEGIN { exit !(g <= m) }' ||
	fail "the eater's heartbeat stopped for ${eater_gap}s (limit ${max_gap}s)"
((written >= 2)) || fail "the writer completed only $written files under pressure"
log "server peaks: VmSwap $peak_vmswap_kb kB, VmRSS $max_rss_kb kB, smallest VmLck - VmRSS $min_lock_margin_kb kB"
sampler_assert "$eater_samples" "server $swap_pid under pressure and writeback"

run sync
assert_eq "$sha_before" "$(sha256sum </mnt/fs/before)" "file written before the pressure"
run umount /mnt/fs
run e2fsck -fn "$fs_dev" || fail "e2fsck found errors"
assert_ok ublkit del "$fs_id"
swap_off_ublk "$swap_id"
assert_eq 0 "$(ublk_count)" "ublk devices left"
assert_no_hung_task
log "PASS: peak swap $((peak_swap_kb / 1024)) MiB, largest heartbeat gap ${eater_gap}s, $written files written"
