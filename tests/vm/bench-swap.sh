#!/bin/bash
# Benchmark: swap throughput under a memory eater, with swap straight on an
# NVMe namespace ("raw"), on the kernel's loop device over it (direct I/O,
# the kernel's own stacked block device as the yardstick) and on a ublkit
# 'file' device with one and with two queues over the same namespace, in
# one boot of a 512 MiB guest. Each run swaps on one of them,
# runs memeater over PERCENT of RAM in address order for PASSES passes,
# and takes MiB/s swapped out and in from /proc/vmstat (pswpout, pswpin)
# over the eater's run time. Rounds alternate the order of the devices;
# the table has medians, the ratio of ublkit to raw, and whether each
# ublkit row reaches the target of BENCH_TARGET (0.8) times raw's speed
# (the per-round speed ratio). Not a pass/fail test, a slow row does not
# fail it: run it with
#   tests/vm/run bench-swap.sh
# BENCH_ROWS (a regex over raw, loop, ublkit-file, ublkit-file-2q: all),
# BENCH_REPEAT (3) rounds, BENCH_PERCENT (150) of RAM, BENCH_PASSES (1).
# vm-mem: 512
# vm-timeout: 3600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
. "$(dirname "$0")/lib-swap.sh"

repeat=${BENCH_REPEAT:-3}
pct=${BENCH_PERCENT:-150}
passes=${BENCH_PASSES:-1}
target=${BENCH_TARGET:-0.8}
page=$(getconf PAGESIZE)
ns=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
[[ $(wc -l </proc/swaps) == 1 ]] || fail "swap already in use: $(cat /proc/swaps)"
rows=(raw loop ublkit-file ublkit-file-2q)
mapfile -t rows < <(printf '%s\n' "${rows[@]}" | grep -E -e "${BENCH_ROWS:-.}")

vmstat_get() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }

swap_up() { # ROW
	case $1 in
	raw)
		mkswap -q "$ns" >/dev/null || fail "mkswap $ns failed"
		swapon "$ns" || fail "swapon $ns failed"
		swap_pid=0
		;;
	loop)
		loop_dev=$(losetup --find --show --direct-io=on "$ns") || fail "losetup $ns failed"
		mkswap -q "$loop_dev" >/dev/null || fail "mkswap $loop_dev failed"
		swapon "$loop_dev" || fail "swapon $loop_dev failed"
		swap_pid=0
		;;
	ublkit-file) swap_on_ublk "$ns" >/dev/null ;;
	ublkit-file-2q) swap_on_ublk "$ns" --queues 2 >/dev/null ;;
	esac
}

swap_down() { # ROW
	case $1 in
	raw)
		swapoff "$ns" || fail "swapoff $ns failed"
		# The next ublkit row must not find someone else's swap here.
		wipefs -q -a "$ns" || fail "wipefs $ns failed"
		;;
	loop)
		swapoff "$loop_dev" || fail "swapoff $loop_dev failed"
		losetup -d "$loop_dev" || fail "losetup -d $loop_dev failed"
		wipefs -q -a "$ns" || fail "wipefs $ns failed"
		;;
	ublkit-file | ublkit-file-2q) swap_off_ublk "$swap_id" >/dev/null ;;
	esac
}

# one_run ROW: prints "runtime out_mib_s in_mib_s out_mib in_mib max_gap
# peak_swap_mib". (Not $out for the eater's output: assert_ok sets it.)
one_run() {
	local row=$1 o0 i0 o1 i1 rt hb=$PWD/bench.hb eat_out=$PWD/bench.out samples=$PWD/bench.samples
	sync
	echo 3 >/proc/sys/vm/drop_caches
	swap_up "$row"
	: >"$hb"
	start_sampler "${swap_pid:-0}" "$samples"
	o0=$(vmstat_get pswpout) i0=$(vmstat_get pswpin)
	"$memeater" --seq -q -n "$passes" -H "$hb" "$pct" >"$eat_out" 2>&1 &
	eater_pid=$!
	swap_bg_pids+=("$eater_pid")
	wait "$eater_pid" || { cat "$eat_out" >&2; fail "memeater failed on $row"; }
	o1=$(vmstat_get pswpout) i1=$(vmstat_get pswpin)
	stop_sampler
	swap_down "$row"
	grep -q 'OK, every page verified' "$eat_out" || fail "memeater did not verify on $row"
	rt=$(sed -n 's/.* runtime=\([0-9.]*\).*/\1/p' "$eat_out")
	sampler_summary "$samples"
	awk -v rt="$rt" -v o=$((o1 - o0)) -v i=$((i1 - i0)) -v p="$page" -v g="$(heartbeat_max_gap "$hb")" \
		-v ps="$peak_swap_kb" 'BEGIN {
		m = p / 1048576
		printf "%.2f %.1f %.1f %.0f %.0f %.1f %.0f\n", rt, o * m / rt, i * m / rt, o * m, i * m, g, ps / 1024 }'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

log "guest: $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB RAM, $(nproc) cpus;" \
	"ublkit swap: $(swap_hardened && echo 'ublkit swap on' || echo 'stand-in (ublkit add --target file, unhardened)')"
log "memeater ${pct}% of RAM, $passes passes in address order after the fill, $repeat rounds"
declare -A vals
fields=(time out_s in_s out in gap peak)
for ((r = 0; r < repeat; r++)); do
	order=("${rows[@]}")
	if ((r % 2)); then
		mapfile -t order < <(printf '%s\n' "${rows[@]}" | tac)
	fi
	for row in "${order[@]}"; do
		res=$(one_run "$row")
		# shellcheck disable=SC2086 # a list of numbers
		set -- $res
		log "round $((r + 1)) $row: time $1 s, out $2 MiB/s, in $3 MiB/s ($4 MiB out, $5 MiB in)," \
			"largest heartbeat gap $6 s, peak swap $7 MiB"
		for f in "${fields[@]}"; do
			vals[$row,$f]+="$1 "
			shift
		done
	done
done

declare -A med
for row in "${rows[@]}"; do
	for f in "${fields[@]}"; do
		# shellcheck disable=SC2086 # a list of numbers
		med[$row,$f]=$(median ${vals[$row,$f]})
	done
done

# The median over rounds of raw's eater time over ROW's in the same round:
# rounds run back to back, so this cancels what the host's load does to a
# whole round (under TCG, a busy host slows both alike).
round_ratio() { # ROW
	local -a a b
	read -ra a <<<"${vals[raw,time]}"
	read -ra b <<<"${vals[$1,time]}"
	median "$(for i in "${!a[@]}"; do awk -v a="${a[i]}" -v b="${b[i]}" 'BEGIN { printf "%.3f\n", a / b }'; done)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

# meets RATIO: "yes" when RATIO (e.g. 0.87x) reaches the target, else "NO".
meets() { awk -v r="${1%x}" -v t="$target" 'BEGIN { print (r + 0 >= t + 0) ? "yes" : "NO" }'; }

echo
echo "swap benchmark: median of $repeat rounds (devices in alternating order), memeater ${pct}% of" \
	"$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB RAM, fill + $passes passes in address order, $(uname -r), $(nproc) CPUs"
echo "raw: swap on $ns; loop: the kernel's loop device over it (direct I/O); ublkit-file(-2q): one (two) queue(s),"
echo "   $(swap_hardened && echo "'ublkit swap on'" || echo "'ublkit add --target file' (stand-in, unhardened)") over the same namespace"
echo "MiB/s = (pswpout or pswpin delta) x page size / eater run time; VS RAW: swap MiB/s in+out of the medians;"
echo "TIME VS RAW: the eater's median time over raw's; SPEED VS RAW: median over rounds of raw's time / this row's in the same round;"
echo "TARGET: whether a ublkit row's SPEED VS RAW reaches ${target}x (reported, not a failure)"
printf '%-15s %9s %10s %10s %10s %10s %8s %9s %9s %11s %12s %7s\n' DEVICE "TIME s" "OUT MiB/s" "IN MiB/s" "OUT MiB" \
	"IN MiB" "GAP s" "PEAK MiB" "VS RAW" "TIME VS RAW" "SPEED VS RAW" TARGET
verdicts=()
for row in "${rows[@]}"; do
	vr="" vt="" vp="" tg=""
	if [[ $row != raw && -n ${med[raw,time]:-} ]]; then
		vr=$(ratio "$(awk -v a="${med[$row,out_s]}" -v b="${med[$row,in_s]}" 'BEGIN {print a + b}')" \
			"$(awk -v a="${med[raw,out_s]}" -v b="${med[raw,in_s]}" 'BEGIN {print a + b}')")
		vt=$(ratio "${med[$row,time]}" "${med[raw,time]}")
		vp=$(round_ratio "$row")x
	fi
	if [[ $row == ublkit-* ]]; then
		if [[ -n $vp ]]; then
			tg=$(meets "$vp")
			verdicts+=("$row: ${vp} of raw's speed, target ${target}x: $([[ $tg == yes ]] && echo met || echo 'NOT met')")
		else
			tg=-
			verdicts+=("$row: no raw row measured, target ${target}x not judged")
		fi
	fi
	printf '%-15s %9s %10s %10s %10s %10s %8s %9s %9s %11s %12s %7s\n' "$row" "${med[$row,time]}" "${med[$row,out_s]}" \
		"${med[$row,in_s]}" "${med[$row,out]}" "${med[$row,in]}" "${med[$row,gap]}" "${med[$row,peak]}" "$vr" "$vt" "$vp" "$tg"
done
echo
for v in ${verdicts[@]+"${verdicts[@]}"}; do
	echo "target: $v"
done
