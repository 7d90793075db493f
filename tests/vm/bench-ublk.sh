#!/bin/bash
# Benchmark: ublkit targets against the kernel's own null_blk and loop
# device, in one boot. Prints a table of median IOPS (4k random: depth 1,
# and depth 64 with 1 and 2 jobs) and MiB/s (128k sequential) over REPEAT
# runs, and the ratio of each ublkit row to loop and to null_blk. The
# ublkit-null-lowlat row shows what --low-latency trades away. Not a
# pass/fail test: run it with
#   tests/vm/run bench-ublk.sh
# vm-timeout: 3000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd fio jq losetup

runtime=${BENCH_RUNTIME:-5}
repeat=${BENCH_REPEAT:-5}
queues=${BENCH_QUEUES:-2}
size=512M

modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$queues" hw_queue_depth=128 gb=1 \
	irqmode=0 || fail "cannot load null_blk"
wait_for 10 test -b /dev/nullb0 || fail "no /dev/nullb0"
tmpfs_file /mnt/tmpfs/bench.img "$size"
dd if=/dev/zero of=/mnt/tmpfs/bench.img bs=1M count=512 conv=notrunc status=none
loopdev=$(losetup --find --show /mnt/tmpfs/bench.img)
trap 'ublk_cleanup; losetup -d "$loopdev" 2>/dev/null; rmmod null_blk 2>/dev/null' EXIT

declare -A dev
dev[null_blk]=/dev/nullb0
dev[loop]=$loopdev
ublk_add --target null --size 1G --queues "$queues" --depth 128
dev[ublkit-null]=$dev_path
ublk_add --target null --size 1G --queues "$queues" --depth 128 --low-latency
dev[ublkit-null-lowlat]=$dev_path
ublk_add --target mem --size "$size" --queues "$queues" --depth 128
dev[ublkit-mem]=$dev_path
dd if=/dev/zero of="$dev_path" bs=1M oflag=direct status=none 2>/dev/null || true
ublk_add --target file --file /mnt/tmpfs/bench.img --queues "$queues" --depth 128
dev[ublkit-file]=$dev_path
rows=(null_blk loop ublkit-null ublkit-null-lowlat ublkit-mem ublkit-file)
# BENCH_ROWS / BENCH_WORKLOADS: regular expressions to measure a subset.
mapfile -t rows < <(printf '%s\n' "${rows[@]}" | grep -E -e "${BENCH_ROWS:-.}")

# name:rw:bs:jobs:iodepth:unit
workloads=(
	"randread-4k-qd1:randread:4k:1:1:iops"
	"randread-4k-1j:randread:4k:1:64:iops"
	"randread-4k-2j:randread:4k:2:64:iops"
	"randwrite-4k-1j:randwrite:4k:1:64:iops"
	"randwrite-4k-2j:randwrite:4k:2:64:iops"
	"seqread-128k:read:128k:1:16:mib"
	"seqwrite-128k:write:128k:1:16:mib"
)
mapfile -t workloads < <(printf '%s\n' "${workloads[@]}" | grep -E -e "${BENCH_WORKLOADS:-.}")

one_run() { # DEVICE RW BS JOBS DEPTH UNIT -> number
	local out
	out=$(fio --name=b --filename="$1" --ioengine=io_uring --direct=1 --rw="$2" --bs="$3" \
		--numjobs="$4" --iodepth="$5" --time_based --runtime="$runtime" --ramp_time=1 \
		--size=400M --group_reporting --output-format=json 2>/dev/null) || return 1
	if [[ $6 == iops ]]; then
		jq '.jobs[0] | (.read.iops + .write.iops) | floor' <<<"$out"
	else
		jq '.jobs[0] | ((.read.bw_bytes + .write.bw_bytes) / 1048576) | floor' <<<"$out"
	fi
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Rounds go over every device in turn, so that a slow stretch of the host
# hits all devices of a workload alike instead of one device's runs.
declare -A result vals
for w in "${workloads[@]}"; do
	IFS=: read -r name rw bs jobs depth unit <<<"$w"
	for ((i = 0; i < repeat; i++)); do
		for r in "${rows[@]}"; do
			v=$(one_run "${dev[$r]}" "$rw" "$bs" "$jobs" "$depth" "$unit") ||
				fail "fio failed on $r ($name)"
			vals[$name,$r]+="$v "
		done
	done
	for r in "${rows[@]}"; do
		# shellcheck disable=SC2086 # a list of numbers
		result[$name,$r]=$(median ${vals[$name,$r]})
		log "$name $r: ${vals[$name,$r]}-> median ${result[$name,$r]}"
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo
echo "ublkit benchmark: median of $repeat rounds (every device in turn) x ${runtime}s runs, fio io_uring direct, $(uname -r), $(nproc) CPUs"
echo "ublkit devices: $queues queue(s) x depth 128, queue threads SCHED_BATCH (ublkit-null-lowlat: --low-latency)"
echo "loop over a tmpfs file; null_blk: $queues submit queues, irqmode=0"
printf '%-16s %-19s %12s %9s %11s\n' WORKLOAD DEVICE RESULT "VS LOOP" "VS NULL_BLK"
for w in "${workloads[@]}"; do
	IFS=: read -r name _ _ _ _ unit <<<"$w"
	for r in "${rows[@]}"; do
		v=${result[$name,$r]}
		vl="" vn=""
		if [[ $r == ublkit-* ]]; then
			vl=$(ratio "$v" "${result[$name,loop]:-0}")
			vn=$(ratio "$v" "${result[$name,null_blk]:-0}")
		fi
		printf '%-16s %-19s %12s %9s %11s\n' "$name" "$r" \
			"$v $([[ $unit == iops ]] && echo IOPS || echo MiB/s)" "$vl" "$vn"
	done
done
