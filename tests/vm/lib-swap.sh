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

# IO_FLUSHER as the kernel shows it in field 9 (flags) of /proc/.../stat:
# PF_MEMALLOC_NOIO (0x00080000) | PF_LOCAL_THROTTLE (0x00100000), the same
# bits the library's own inspection (core/harden.c) requires.
PF_IO_FLUSHER=$((0x00080000 | 0x00100000))

# Sample, once a second until killed, into FILE: seconds, swap used (kB),
# the server's VmSwap, VmLck and VmRSS (kB), its number of threads and how
# many of them lack IO_FLUSHER (-1 for all five when the server is gone).
# Each thread found without IO_FLUSHER also goes to FILE.threads as
# "seconds tid comm flags". Builtins only, so that sampling costs no fork
# under memory pressure (but sleep).
swap_sampler() { # PID FILE
	local pid=$1 file=$2 t0=$SECONDS k v _ st sf vs vl vr nt nb
	while :; do
		st=0 sf=0 vs=-1 vl=-1 vr=-1 nt=-1 nb=-1
		while read -r k v _; do
			case $k in SwapTotal:) st=$v ;; SwapFree:) sf=$v ;; esac
		done </proc/meminfo
		if [[ -r /proc/$pid/status ]]; then
			while read -r k v _; do
				case $k in VmSwap:) vs=$v ;; VmLck:) vl=$v ;; VmRSS:) vr=$v ;; esac
			done 2>/dev/null <"/proc/$pid/status" || true
			sample_threads "$pid" "$file.threads" $((SECONDS - t0))
			nt=$sampled_threads nb=$sampled_bad
		fi
		printf '%d %d %d %d %d %d %d\n' $((SECONDS - t0)) $((st - sf)) "$vs" "$vl" "$vr" "$nt" "$nb" >>"$file"
		sleep 1
	done
}

# sample_threads PID FILE SECONDS: count the threads of PID and those
# lacking IO_FLUSHER (sets sampled_threads, sampled_bad), every one of
# them: any thread of the server may serve I/O or run reclaim under
# pressure, and the library judges them all. Those lacking it are
# appended to FILE. Builtins only.
sample_threads() {
	local pid=$1 file=$2 t=$3 d line comm
	sampled_threads=0 sampled_bad=0
	for d in /proc/"$pid"/task/*; do
		IFS= read -r line 2>/dev/null <"$d/stat" || continue # exited meanwhile
		line=${line##*) } # comm may hold anything: fields start after the last ')'
		# shellcheck disable=SC2086 # numbers and a state letter
		set -- $line
		(($# >= 7)) || continue
		sampled_threads=$((sampled_threads + 1))
		(((${7} & PF_IO_FLUSHER) != PF_IO_FLUSHER)) || continue
		sampled_bad=$((sampled_bad + 1))
		comm='?'
		IFS= read -r comm 2>/dev/null <"$d/comm" || true
		printf '%d %s %s 0x%08x\n' "$t" "${d##*/}" "$comm" "$7" >>"$file"
	done
}

start_sampler() { # PID FILE
	: >"$2"
	: >"$2.threads"
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

task_flags() { # PID TID -> flags (decimal)
	local s
	s=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || return 1
	s=${s##*) } # comm may hold anything: fields start after the last ')'
	# shellcheck disable=SC2086
	set -- $s
	printf '%s\n' "$7"
}

# io_flusher_check PID: print every thread of the server with its flags;
# fail (status 1) when any thread lacks IO_FLUSHER. Every thread counts,
# as in the library's own judgement (core/harden.c): the main thread, the
# queue threads and the io_uring workers (iou-wrk-*) that any of them
# started, since a worker inherits its creator's flags and may carry I/O.
io_flusher_check() {
	local pid=$1 d tid fl comm bad=0 n=0
	for d in /proc/"$pid"/task/*; do
		tid=${d##*/}
		fl=$(task_flags "$pid" "$tid") || continue
		comm=$(cat "$d/comm" 2>/dev/null || echo '?')
		n=$((n + 1))
		if (((fl & PF_IO_FLUSHER) == PF_IO_FLUSHER)); then
			printf '  thread %s (%s) flags 0x%08x: IO_FLUSHER\n' "$tid" "$comm" "$fl"
		else
			printf '  thread %s (%s) flags 0x%08x: no IO_FLUSHER\n' "$tid" "$comm" "$fl"
			bad=1
		fi
	done
	((n > 0)) || { echo "  no threads found in $pid"; return 1; }
	return "$bad"
}

# lock_covers LCK RSS (kB): whether VmLck covers VmRSS the way the library
# judges it (core/harden.c): something is locked, and what is resident but
# unlocked is at most max(2 MiB, VmRSS / 32) -- kernel-provided mappings
# (io_uring rings, vdso) count in VmRSS but cannot be mlocked.
lock_slack_kb() { local s=$(($1 / 32)); echo $((s < 2048 ? 2048 : s)); }
lock_covers() { (($1 > 0 && $1 + $(lock_slack_kb "$2") >= $2)); }

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

# info_swap_safe ID PID WHAT: what 'ublkit info --json ID' says of the
# device's server: that it is PID and swap_safe is true (status 1
# otherwise, with the reason and every guarantee printed).
info_swap_safe() {
	local id=$1 pid=$2 what=$3 j safe spid
	j=$(ublkit info --json "$id") || { log "ublkit info --json $id failed ($what)"; return 1; }
	safe=$(jq -r .swap_safe <<<"$j") spid=$(jq -r .server_pid <<<"$j")
	log "ublkit info ublk$id ($what): server_pid $spid, swap_safe $safe: $(jq -r .swap_safe_reason <<<"$j")"
	if [[ $safe != true || $spid != "$pid" ]]; then
		jq -r '.hardening // {} | to_entries[] | "  \(.key): \(.value.state): \(.value.reason)"' <<<"$j"
		return 1
	fi
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
	# mlockall: everything resident is locked (up to the library's slack).
	lock_covers "$lck" "$rss" || ok=0
	((swp == 0)) || ok=0
	# What ublkit itself says about this server.
	if ((swap_cmd)) && [[ -n $swap_id ]]; then
		info_swap_safe "$swap_id" "$pid" "$what" || ok=0
	fi
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

# sampler_check FILE WHAT [FROM [TO]]: every sample of the server (those
# taken while it existed, with FROM <= seconds < TO when given) shows it
# held in memory and an IO_FLUSHER throughout: VmSwap 0, VmLck covering
# VmRSS as lock_covers judges it, threads found and none without
# IO_FLUSHER. Prints how many samples were checked and the first bad ones;
# status 1 when a sample is bad or none was taken.
sampler_check() {
	local file=$1 what=$2 from=${3:-0} to=${4:-999999} res
	res=$(awk -v from="$from" -v to="$to" '
		$3 < 0 || $1 < from || $1 >= to { next }
		{
			n++
			slack = int($5 / 32); if (slack < 2048) slack = 2048
			why = ""
			if ($3 > 0) why = why " VmSwap " $3 " kB;"
			if ($4 <= 0 || $4 + slack < $5) why = why " VmLck " $4 " kB does not cover VmRSS " $5 " kB;"
			if (NF >= 7 && $6 <= 0) why = why " no threads;"
			if (NF >= 7 && $7 > 0) why = why " " $7 " of " $6 " threads without IO_FLUSHER;"
			if (why != "" && bad++ < 5) printf "  t=%ds:%s\n", $1, why
		}
		END { printf "%d %d\n", n, bad }' "$file")
	sed '$d' <<<"$res"
	read -r sampler_checked sampler_bad <<<"$(tail -n 1 <<<"$res")"
	if [[ -s $file.threads ]]; then
		log "threads seen without IO_FLUSHER ($what; seconds tid comm flags):"
		head -n 10 "$file.threads" | sed 's/^/  /'
	fi
	log "$what: $sampler_checked samples of the server checked, $sampler_bad bad"
	((sampler_checked > 0 && sampler_bad == 0))
}

# sampler_assert FILE WHAT [FROM [TO]]: sampler_check, asserted when
# swap_hardened, else reported only.
sampler_assert() {
	if sampler_check "$@"; then
		log "$2: VmSwap 0, VmLck covering VmRSS and IO_FLUSHER on every thread in every sample"
	elif swap_hardened; then
		fail "$2: the swap server was not held in memory or lost IO_FLUSHER under pressure (see above)"
	else
		log "$2: the server was not hardened throughout (stand-in: reported, not asserted)"
	fi
}

# Hung tasks: the kernel's count of "blocked for more than" reports, taken
# when this file is sourced; assert_no_hung_task fails when it grew. (The
# runner's kernel panics on a hung task as well; this says it in the test.)
hung_reports() { dmesg 2>/dev/null | grep -c 'blocked for more than' || true; }
swap_hung_at_start=$(hung_reports)
assert_no_hung_task() {
	local n
	n=$(hung_reports)
	((n <= swap_hung_at_start)) || {
		dmesg | grep -A 20 'blocked for more than' | tail -n 40
		fail "$((n - swap_hung_at_start)) hung task report(s) in the kernel log during the test"
	}
	log "no hung task reported during the test"
}

# A timeline of the run: one line per 10 s of the sampler file.
sampler_timeline() { # FILE
	awk 'NR == 1 || int($1 / 10) != last { last = int($1 / 10)
		printf "  t=%3ds swap used %4d MiB   server VmSwap %5d kB VmLck %6d kB VmRSS %6d kB",
			$1, $2 / 1024, $3, $4, $5
		if (NF >= 7 && $6 >= 0) printf "  threads %d, %d without IO_FLUSHER", $6, $7
		printf "\n" }' "$1"
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
