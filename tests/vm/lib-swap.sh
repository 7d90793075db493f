# Helpers for the VM tests that put swap on ublk and the guest under memory
# pressure (tests/vm/3?-swap-*.sh, bench-swap.sh). Source after lib.sh and
# lib-ublk.sh.
#
# swap_on_ublk / swap_off_ublk are the one place that knows how swap on
# ublk is set up: with 'ublkit swap' (a hardened server: mlockall,
# PR_SET_IO_FLUSHER, oom_score_adj -1000) when this ublkit has it, else
# with the plain stand-in 'ublkit add --target file' + mkswap + swapon.
# swap_hardened tells the tests which one they got.
# shellcheck shell=bash

need_cmd mkswap swapon swapoff awk

# Set by swap_on_ublk.
# shellcheck disable=SC2034
swap_id="" swap_dev="" swap_pid="" swap_backing=""
# Background processes the cleanup stops (memeater, samplers, writers).
swap_bg_pids=()

if ublkit swap --help >/dev/null 2>&1; then
	swap_cmd=1
else
	swap_cmd=0
fi
# Whether the swap server is expected to be hardened; the checks of
# hardening are assertions only then, otherwise they report what they see.
swap_hardened() { ((swap_cmd)); }

# The memory eater runs from the guest's own disk, not from the 9p share:
# its code pages must be paged back in from somewhere that does not
# itself need memory on the host's terms.
memeater=/usr/local/bin/memeater
[[ -x $UBLKIT_VM_DIR/memeater ]] || fail "no memeater in $UBLKIT_VM_DIR (tests/vm/run builds it)"
install -m 0755 "$UBLKIT_VM_DIR/memeater" "$memeater"

swap_cleanup() {
	local p d
	for p in ${swap_bg_pids[@]+"${swap_bg_pids[@]}"}; do
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	# Never delete a ublk device under an active swap area: swapoff first.
	# shellcheck disable=SC2013 # device paths have no blanks
	for d in $(awk 'NR > 1 && $1 ~ /^\/dev\/ublkb/ {print $1}' /proc/swaps); do
		swapoff "$d" 2>/dev/null || true
	done
	# shellcheck disable=SC2013
	for d in $(awk '$1 ~ /^\/dev\/ublkb/ {print $2}' /proc/mounts); do
		umount -l "$d" 2>/dev/null || true
	done
	ublk_cleanup
}
trap swap_cleanup EXIT

# swap_on_ublk NSDEV [--priority N] [--recovery] [other 'ublkit swap on'
# options]: swap on a ublk device over NSDEV; sets swap_id, swap_dev and
# swap_pid (the server).
swap_on_ublk() {
	local ns=$1 o prio='' add=()
	shift
	if ((swap_cmd)); then
		printf '+ ublkit swap on --json --file %s %s\n' "$ns" "$*"
		o=$(ublkit swap on --json --file "$ns" "$@") || fail "ublkit swap on --file $ns $* failed"
		swap_id=$(jq -r .id <<<"$o")
		swap_dev=$(jq -r .block_device <<<"$o")
		swap_pid=$(jq -r .server_pid <<<"$o")
	else
		while (($#)); do
			case $1 in
			--priority) prio=$2; shift ;;
			--priority=*) prio=${1#*=} ;;
			--recovery) add+=(--recovery) ;;
			*) fail "swap_on_ublk: the stand-in does not know $1" ;;
			esac
			shift
		done
		log "no 'ublkit swap' in this ublkit: stand-in ublkit add --target file + mkswap + swapon"
		ublk_add --target file --file "$ns" ${add[@]+"${add[@]}"}
		# shellcheck disable=SC2154 # set by ublk_add
		swap_id=$dev_id swap_dev=$dev_path swap_pid=$dev_pid
		run mkswap -q "$swap_dev" >/dev/null || fail "mkswap $swap_dev failed"
		run swapon ${prio:+-p "$prio"} "$swap_dev" || fail "swapon $swap_dev failed"
	fi
	swap_backing=$(readlink -f "$ns")
	[[ $swap_id =~ ^[0-9]+$ && $swap_pid =~ ^[0-9]+$ ]] || fail "swap on printed no id or pid: ${o:-}"
	assert_block "$swap_dev"
	grep -q "^$swap_dev " /proc/swaps || fail "$swap_dev is not in /proc/swaps: $(cat /proc/swaps)"
	log "swap on ublk$swap_id ($swap_dev over $ns), server pid $swap_pid"
}

# swap_off_ublk ID: swapoff and remove the device; its server must end.
swap_off_ublk() {
	local id=$1 pid
	pid=$(ublkit info --json "$id" | jq -r .server_pid)
	if ((swap_cmd)); then
		assert_ok ublkit swap off "$id"
	else
		assert_ok swapoff "/dev/ublkb$id"
		assert_ok ublkit del "$id"
	fi
	! grep -q "^/dev/ublkb$id " /proc/swaps || fail "/dev/ublkb$id still in /proc/swaps"
	wait_for 30 ublk_gone "$id" || fail "ublk$id still exists after swap off"
	wait_for 30 pid_gone "$pid" || fail "server $pid of ublk$id still runs after swap off"
}

# Swap in use in KiB, all areas.
swap_used_kb() {
	awk '/^SwapTotal:/ {t = $2} /^SwapFree:/ {f = $2} END {print t - f}' /proc/meminfo
}

# status_kb PID FIELD: a kB field of /proc/PID/status (VmSwap, VmLck...).
status_kb() {
	awk -v f="$2:" '$1 == f {print $2; found = 1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null
}

# Sample, once a second until killed, into FILE: seconds, swap used (kB),
# and the server's VmSwap, VmLck and VmRSS (kB). Builtins only, so that
# sampling costs no fork under memory pressure (but sleep).
swap_sampler() { # PID FILE
	local pid=$1 file=$2 t0=$SECONDS k v _ st sf vs vl vr
	while :; do
		st=0 sf=0 vs=-1 vl=-1 vr=-1
		while read -r k v _; do
			case $k in SwapTotal:) st=$v ;; SwapFree:) sf=$v ;; esac
		done </proc/meminfo
		if [[ -r /proc/$pid/status ]]; then
			while read -r k v _; do
				case $k in VmSwap:) vs=$v ;; VmLck:) vl=$v ;; VmRSS:) vr=$v ;; esac
			done <"/proc/$pid/status" 2>/dev/null || true
		fi
		printf '%d %d %d %d %d\n' $((SECONDS - t0)) $((st - sf)) "$vs" "$vl" "$vr" >>"$file"
		sleep 1
	done
}

start_sampler() { # PID FILE
	: >"$2"
	swap_sampler "$1" "$2" &
	swap_bg_pids+=($!)
	sampler_pid=$!
}

stop_sampler() { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }

# Largest gap in seconds between heartbeats in a memeater heartbeat file.
heartbeat_max_gap() {
	awk '$1 == "hb" { if (n++ && $2 - p > g) g = $2 - p; p = $2 } END { printf "%.1f\n", g + 0 }' "$1"
}

# Where in the run (seconds) the largest heartbeat gap ended.
heartbeat_max_gap_at() {
	awk '$1 == "hb" { if (n++ && $2 - p > g) { g = $2 - p; at = $2 } p = $2 } END { printf "%.0f\n", at + 0 }' "$1"
}

# IO_FLUSHER as the kernel shows it in field 9 (flags) of /proc/.../stat:
# PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE.
PF_IO_FLUSHER=$((0x00080000 | 0x00100000))

task_flags() { # PID TID -> flags (decimal)
	local s
	s=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || return 1
	s=${s##*) } # comm may hold anything: fields start after the last ')'
	# shellcheck disable=SC2086
	set -- $s
	printf '%s\n' "$7"
}

# io_flusher_check PID: print every thread of the server with its flags;
# fail (status 1) when an I/O thread lacks IO_FLUSHER. I/O threads are all
# but the main one, which only waits for signals and drives the control
# ring, and the io_uring workers that the main thread started (named
# iou-wrk-<creator>): they carry the control commands, not I/O.
io_flusher_check() {
	local pid=$1 d tid fl comm bad=0 n=0 control
	for d in /proc/"$pid"/task/*; do
		tid=${d##*/}
		fl=$(task_flags "$pid" "$tid") || continue
		comm=$(cat "$d/comm" 2>/dev/null || echo '?')
		control=''
		[[ $tid != "$pid" ]] || control=' (main thread)'
		[[ $comm != "iou-wrk-$pid" ]] || control=' (control ring worker)'
		if (((fl & PF_IO_FLUSHER) == PF_IO_FLUSHER)); then
			printf '  thread %s (%s) flags 0x%08x: IO_FLUSHER%s\n' "$tid" "$comm" "$fl" "$control"
		else
			printf '  thread %s (%s) flags 0x%08x: no IO_FLUSHER%s\n' "$tid" "$comm" "$fl" "$control"
			[[ -n $control ]] || bad=1
		fi
		[[ -n $control ]] || n=$((n + 1))
	done
	((n > 0)) || { echo "  no I/O threads found in $pid"; return 1; }
	return "$bad"
}

# backing_flags PID DEV: the open flags (octal, from fdinfo) of the
# server's descriptor for DEV, or nothing.
backing_flags() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == "$2" ]] || continue
		awk '$1 == "flags:" {print $2}' "/proc/$1/fdinfo/${fd##*/}"
		return 0
	done
}

# hardening_check PID WHAT: the swap server's guarantees as the kernel
# shows them. Asserted when swap_hardened, else reported only.
hardening_check() {
	local pid=$1 what=$2 adj lck rss swp ok=1 fl
	adj=$(cat "/proc/$pid/oom_score_adj")
	lck=$(status_kb "$pid" VmLck) rss=$(status_kb "$pid" VmRSS) swp=$(status_kb "$pid" VmSwap)
	log "server $pid ($what): oom_score_adj $adj, VmRSS $rss kB, VmLck $lck kB, VmSwap $swp kB"
	log "server $pid ($what) threads:"
	io_flusher_check "$pid" || ok=0
	# Swap must not go through the page cache of the device below: that
	# needs memory to free memory. O_DIRECT is 040000.
	if [[ -n ${swap_backing:-} ]]; then
		fl=$(backing_flags "$pid" "$swap_backing")
		if [[ -z $fl ]]; then
			log "server $pid ($what): no descriptor for $swap_backing"
		elif ((8#$fl & 8#40000)); then
			log "server $pid ($what): $swap_backing open with O_DIRECT (flags $fl)"
		else
			log "server $pid ($what): $swap_backing open WITHOUT O_DIRECT (flags $fl): through the page cache"
			ok=0
		fi
	fi
	[[ $adj == -1000 ]] || ok=0
	# mlockall: everything resident is locked. Kernel-provided mappings
	# (io_uring rings) count in VmRSS but cannot be mlocked: allow 2 MiB.
	((lck + 2048 >= rss)) || ok=0
	((swp == 0)) || ok=0
	if swap_hardened; then
		((ok)) || fail "server $pid ($what) is not hardened (see above)"
		log "server $pid ($what) is hardened"
	else
		log "server $pid ($what): $( ((ok)) && echo hardened || echo 'NOT hardened') (stand-in: reported, not asserted)"
	fi
}

# Summarise a sampler file: peaks of swap used and of the server's VmSwap,
# the smallest VmLck - VmRSS margin. Sets peak_swap_kb, peak_vmswap_kb,
# min_lock_margin_kb, max_rss_kb.
sampler_summary() { # FILE
	# shellcheck disable=SC2034 # for the caller
	read -r peak_swap_kb peak_vmswap_kb min_lock_margin_kb max_rss_kb < <(awk '
		$2 > ps { ps = $2 }
		$3 >= 0 { if ($3 > pv) pv = $3; m = $4 - $5; if (!n++ || m < mm) mm = m; if ($5 > mr) mr = $5 }
		END { printf "%d %d %d %d\n", ps, pv, mm, mr }' "$1")
}

# A timeline of the run: one line per 10 s of the sampler file.
sampler_timeline() { # FILE
	awk 'NR == 1 || int($1 / 10) != last { last = int($1 / 10)
		printf "  t=%3ds swap used %4d MiB   server VmSwap %5d kB VmLck %6d kB VmRSS %6d kB\n",
			$1, $2 / 1024, $3, $4, $5 }' "$1"
}

# watch_eater PID HEARTBEAT SAMPLES: until PID ends, print every 10 s how
# far the eater got, how much swap is in use and when it last beat. Goes
# to the test's output, which the host sees as it is written: should the
# guest hang, the last line says how far it got.
watch_eater() {
	local pid=$1 hb=$2 samples=$3 t0=$SECONDS last s
	while kill -0 "$pid" 2>/dev/null; do
		sleep 10 &
		wait $! || true
		kill -0 "$pid" 2>/dev/null || break
		last=$(tail -n 1 "$hb" 2>/dev/null || true)
		s=$(tail -n 1 "$samples" 2>/dev/null || true)
		log "t=$((SECONDS - t0))s swap used $(($(awk '{print $2}' <<<"${s:-0 0}") / 1024)) MiB," \
			"server VmSwap $(awk '{print $3}' <<<"${s:-0 0 0}") kB; eater: ${last:-no heartbeat yet}"
	done
}

# run_eater PERCENT SECONDS TAG [memeater options]: run the memory eater in
# the background with a heartbeat and the sampler on swap_pid, watch it,
# and check the outcome: its exit status, every page verified. Sets
# eater_out, eater_hb, eater_samples (files) and eater_gap (max heartbeat
# gap, s). The caller asserts on the numbers.
run_eater() {
	local pct=$1 secs=$2 tag=$3 rc=0
	shift 3
	eater_out=$PWD/$tag.eater.out eater_hb=$PWD/$tag.heartbeat eater_samples=$PWD/$tag.samples
	: >"$eater_hb"
	start_sampler "$swap_pid" "$eater_samples"
	log "memeater $pct% of RAM for ${secs}s ($tag)"
	"$memeater" -t "$secs" -H "$eater_hb" "$@" "$pct" >"$eater_out" 2>&1 &
	eater_pid=$!
	swap_bg_pids+=("$eater_pid")
	watch_eater "$eater_pid" "$eater_hb" "$eater_samples"
	wait "$eater_pid" || rc=$?
	stop_sampler
	sed 's/^/  /' "$eater_out"
	eater_gap=$(heartbeat_max_gap "$eater_hb")
	sampler_summary "$eater_samples"
	log "samples ($tag):"
	sampler_timeline "$eater_samples"
	log "peak swap used $((peak_swap_kb / 1024)) MiB; largest heartbeat gap ${eater_gap}s" \
		"(ending at t=$(heartbeat_max_gap_at "$eater_hb")s of $(wc -l <"$eater_hb") beats)"
	((rc == 0)) || fail "memeater exited $rc ($tag)"
	grep -q 'OK, every page verified' "$eater_out" || fail "memeater did not verify every page ($tag)"
}
