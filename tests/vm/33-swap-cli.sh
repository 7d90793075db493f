#!/bin/bash
# ublkit swap on / status / info / off on an NVMe namespace, and the
# refusals: a server that cannot be hardened (memlock limit without
# CAP_IPC_LOCK, no CAP_SYS_RESOURCE), a namespace holding ext4, a mounted
# one, one that is an active swap area or held by a dm device (these three
# even with --force), a device that is not ublkit's swap. Each refusal
# exits non-zero, names the fix, and leaves no device, no server and no
# swap behind, and what held the namespace as it was.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd setpriv mkfs.ext4 blkid swapon swapoff mkswap dmsetup blockdev

ns=$(nvme_ns_dev 2) || fail "no NVMe namespace 2"
wipefs -a -q "$ns"

nothing_left() { # WHAT
	assert_eq 0 "$(ublk_count)" "devices left after $1"
	[[ -z $(pgrep -x ublkit-server) ]] || fail "a server is left after $1"
	[[ $(swapon --noheadings --show=NAME | grep -c ublkb) == 0 ]] || fail "swap left after $1"
}

# --- the happy path ---------------------------------------------------------
assert_ok ublkit swap on --json --file "$ns" --priority 7 --label fastswap --queues 2
j=$out
id=$(jq -r .id <<<"$j") dev=$(jq -r .block_device <<<"$j") pid=$(jq -r .server_pid <<<"$j")
assert_block "$dev"
assert_eq swap "$(blkid -p -o value -s TYPE "$dev")" "signature type"
assert_eq fastswap "$(blkid -p -o value -s LABEL "$dev")" "signature label"
assert_eq 7 "$(swapon --noheadings --show=NAME,PRIO | awk -v d="$dev" '$1 == d {print $2}')" \
	"swap priority"
assert_ok ublkit swap status --json
assert_eq true "$(jq -r --argjson id "$id" '.[] | select(.id == $id) | .active' <<<"$out")" "active"
assert_eq true "$(jq -r --argjson id "$id" '.[] | select(.id == $id) | .swap_safe' <<<"$out")" \
	"swap_safe: $(jq -r '.[0].hardening' <<<"$out")"
assert_ok ublkit info --json "$id"
for g in memory-locked io-flusher oom-protected private-mounts preallocated; do
	assert_eq held "$(jq -r ".hardening[\"$g\"].state" <<<"$out")" "guarantee $g"
done
ublkit info "$id"
ublkit swap status
# What the guarantees mean, seen from /proc.
assert_eq -1000 "$(cat /proc/"$pid"/oom_score_adj)" "oom_score_adj"
[[ $(readlink /proc/"$pid"/ns/mnt) != $(readlink /proc/1/ns/mnt) ]] || fail "no private mount namespace"
rss=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)
lck=$(awk '/^VmLck/ {print $2}' /proc/"$pid"/status)
log "server $pid: VmRSS ${rss} kB, VmLck ${lck} kB"
((lck + 2048 >= rss)) || fail "VmLck ($lck kB) does not cover VmRSS ($rss kB)"
for t in /proc/"$pid"/task/*; do
	flags=$(awk '{print $9}' "$t/stat")
	(((flags & 0x180000) == 0x180000)) ||
		fail "thread ${t##*/} ($(cat "$t/comm")) is not an IO_FLUSHER (flags $flags)"
done

# Not ublkit's swap: refused, nothing touched.
ublk_add --target null --size 64M
assert_fails ublkit swap off "$dev_id"
assert_match "not a swap device" "$out" "swap off of a plain device"
assert_block "$dev_path"
ublkit del "$dev_id" >/dev/null

# The namespace is in use by the swap device now: a second one is refused.
assert_fails ublkit swap on --file "$ns"
assert_match "in use" "$out" "second swap on the same namespace"

assert_ok ublkit swap off "$id"
wait_for 10 ublk_gone "$id" || fail "ublk$id left after swap off"
nothing_left "swap off"
# A swap signature of ublkit's own from before is no data: on again works.
assert_ok ublkit swap on --file "$ns" --label fastswap
id=$(awk '{print $1}' <<<"$out"); id=${id#ublk}
assert_ok ublkit swap off "$id"
nothing_left "the second swap off"

# --- refusals ----------------------------------------------------------------
# Another label's swap signature is someone else's swap: refused without --force.
assert_fails ublkit swap on --file "$ns"
assert_match 'LABEL="fastswap"' "$out" "the foreign swap signature is named"
nothing_left "the foreign swap refusal"
run wipefs -a -q "$ns"
# Locked memory: a low RLIMIT_MEMLOCK and no CAP_IPC_LOCK.
rc=0
out=$(setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock -- \
	bash -c "ulimit -l 64 && exec ublkit swap on --file $ns" 2>&1) || rc=$?
printf '%s\n' "$out"
assert_eq 3 "$rc" "exit status without CAP_IPC_LOCK and a 64 KiB memlock limit"
assert_match "ulimit -l|LimitMEMLOCK|CAP_IPC_LOCK" "$out" "the memlock fix is named"
nothing_left "the memlock refusal"

# IO_FLUSHER and oom_score_adj need CAP_SYS_RESOURCE.
rc=0
out=$(setpriv --bounding-set -sys_resource --inh-caps -sys_resource -- \
	ublkit swap on --file "$ns" 2>&1) || rc=$?
printf '%s\n' "$out"
assert_eq 3 "$rc" "exit status without CAP_SYS_RESOURCE"
assert_match "CAP_SYS_RESOURCE" "$out" "the capability is named"
nothing_left "the CAP_SYS_RESOURCE refusal"

# --best-effort starts anyway, and says what is not in force.
out=$(setpriv --bounding-set -sys_resource --inh-caps -sys_resource -- \
	ublkit swap on --json --best-effort --file "$ns" 2>/tmp/best-effort.err) ||
	fail "--best-effort failed: $out $(cat /tmp/best-effort.err)"
cat /tmp/best-effort.err
id=$(jq -r .id <<<"$out")
assert_ok ublkit info --json "$id"
assert_eq false "$(jq -r .swap_safe <<<"$out")" "swap_safe with --best-effort and no CAP_SYS_RESOURCE"
assert_eq not-held "$(jq -r '.hardening["io-flusher"].state' <<<"$out")" "io-flusher"
assert_ok ublkit swap off "$id"
nothing_left "the best-effort device"

# A namespace holding ext4.
run mkfs.ext4 -q -F "$ns"
assert_fails ublkit swap on --file "$ns"
assert_match "ext4" "$out" "the file system is named"
assert_match "--force" "$out" "the way to override is named"
assert_eq ext4 "$(blkid -p -o value -s TYPE "$ns")" "ext4 left intact"
nothing_left "the ext4 refusal"
# ... and mounted: refused even with --force.
mkdir -p /mnt/ns
run mount "$ns" /mnt/ns
assert_fails ublkit swap on --force --file "$ns"
assert_match "mounted" "$out" "the mount is named"
run umount /mnt/ns
nothing_left "the mounted refusal"
# --force takes an unmounted ext4.
assert_ok ublkit swap on --force --json --file "$ns"
id=$(jq -r .id <<<"$out")
assert_eq swap "$(blkid -p -o value -s TYPE "$ns")" "the namespace holds swap now"
assert_ok ublkit swap off "$id"
nothing_left "the forced swap"

# In use by someone else: refused even with --force, and left as it was.
force_refused() { # WHAT: --force refused, nothing of ublkit's made
	local made
	assert_fails ublkit swap on --force --file "$ns"
	made=$(compgen -G '/dev/ublkb*' || true)
	[[ -z $made ]] || fail "a ublk block device was made: $made"
	nothing_left "$1"
}
ns_real=$(readlink -f "$ns")
holder=ublkit-test-swap-holder
trap 'swapoff "$ns_real" 2>/dev/null; dmsetup remove "$holder" 2>/dev/null; ublk_cleanup' EXIT
# ... an active swap area straight on the namespace.
run mkswap -q "$ns" >/dev/null
run swapon "$ns"
swaps_before=$(swapon --noheadings --show=NAME)
force_refused "the active swap refusal"
assert_match "active swap" "$out" "the active swap is named"
assert_match "swapoff" "$out" "the fix (swapoff) is named"
assert_eq "$swaps_before" "$(swapon --noheadings --show=NAME)" "swap areas after the refusal"
swapon --noheadings --show=NAME | grep -qx "$ns_real" || fail "$ns_real is no longer active swap"
run swapoff "$ns"
run wipefs -a -q "$ns"
# ... a dm device on top of the namespace.
swaps_before=$(swapon --noheadings --show=NAME)
run dmsetup create "$holder" --table "0 $(blockdev --getsz "$ns") linear $ns_real 0"
udevadm settle -t 30 || true
table=$(dmsetup table "$holder")
dm=$(basename "$(readlink -f "/dev/mapper/$holder")")
force_refused "the dm holder refusal"
assert_match "held by $dm" "$out" "the dm device is named"
assert_match "remove $dm" "$out" "the fix (remove it) is named"
assert_eq "$table" "$(dmsetup table "$holder")" "the dm device's table after the refusal"
assert_match "State: +ACTIVE" "$(dmsetup info "$holder")" "the dm device is still active"
assert_block "/dev/mapper/$holder"
assert_eq "$swaps_before" "$(swapon --noheadings --show=NAME)" "swap areas after the dm holder refusal"
run dmsetup remove "$holder"
udevadm settle -t 30 || true
trap ublk_cleanup EXIT

# Usage errors.
assert_fails ublkit swap on
assert_match "needs --file" "$out" "missing --file"
assert_fails ublkit swap on --file "$ns" --label 'a-label-longer-than-16'
assert_fails ublkit swap frob
log "swap on/off/status and every refusal behave"

# --- swap files, a failed swapon, the whole refusal -------------------------
# --size makes a swap file that does not exist: mode 0600, every block
# allocated, on the root file system (a disk).
swapfile=/var/tmp/ublkit-swap.img
rm -f "$swapfile"
assert_ok ublkit swap on --json --file "$swapfile" --size 64M --label fileswap
id=$(jq -r .id <<<"$out") dev=$(jq -r .block_device <<<"$out")
assert_eq 600 "$(stat -c %a "$swapfile")" "mode of the new swap file"
assert_eq $((64 << 20)) "$(stat -c %s "$swapfile")" "size of the new swap file"
(($(stat -c %b "$swapfile") * 512 >= 64 << 20)) || fail "the new swap file has holes"
assert_eq $((64 << 20)) "$(dev_size "$dev")" "size of the device over the new file"
assert_ok ublkit info --json "$id"
assert_eq held "$(jq -r '.hardening.preallocated.state' <<<"$out")" "preallocated, new file"
assert_ok ublkit swap off "$id"
nothing_left "the new swap file"
# On a file that exists, --size takes part of it, and no more than it holds.
assert_ok ublkit swap on --json --file "$swapfile" --size 32M --label fileswap
id=$(jq -r .id <<<"$out") dev=$(jq -r .block_device <<<"$out")
assert_eq $((32 << 20)) "$(dev_size "$dev")" "size of the device over part of the file"
assert_ok ublkit swap off "$id"
assert_fails ublkit swap on --file "$swapfile" --size 128M --label fileswap
assert_match "less than" "$out" "a size beyond the file"
nothing_left "a size beyond the file"
rm -f "$swapfile"
# A sparse file, and a file in memory, would need memory to take a page.
truncate -s 64M /var/tmp/ublkit-sparse.img
assert_fails ublkit swap on --file /var/tmp/ublkit-sparse.img
assert_match "not preallocated" "$out" "a sparse file is refused"
assert_match "fallocate -l" "$out" "the fix for a sparse file"
rm -f /var/tmp/ublkit-sparse.img
fallocate -l 64M /dev/shm/ublkit-swap.img
assert_fails ublkit swap on --file /dev/shm/ublkit-swap.img
assert_match "tmpfs" "$out" "a file on tmpfs is refused"
rm -f /dev/shm/ublkit-swap.img
assert_fails ublkit swap on --file /dev/shm/ublkit-new.img --size 64M
assert_match "tmpfs" "$out" "no new swap file on tmpfs"
assert_missing /dev/shm/ublkit-new.img
nothing_left "the refused files"
# mem and null cannot back swap: a usage error with the reason.
rc=0
out=$(ublkit swap on --target mem --size 64M 2>&1) || rc=$?
printf '%s\n' "$out"
assert_eq 2 "$rc" "exit status of swap on --target mem"
assert_match "target mem cannot back swap" "$out" "the reason mem is refused"

# A swapon(2) that fails after the signature is written (strace's fault
# injection makes ublkit's swapon return EIO; the server is not traced):
# the first page is written back, so the namespace holds no swap
# signature, and no device or server is left.
command -v strace >/dev/null || fail "strace is not installed (tests/vm/packages has it)"
run wipefs -a -q "$ns"
for i in $(seq 0 255); do printf 'ublkit-first-page %04d\n' "$i"; done >/tmp/first-page
dd if=/tmp/first-page of="$ns" bs=4096 count=1 oflag=direct conv=notrunc status=none
before=$(dd if="$ns" bs=4096 count=1 iflag=direct status=none | sha256sum)
rc=0
out=$(strace -o /dev/null -e trace=swapon -e inject=swapon:error=EIO \
	ublkit swap on --file "$ns" 2>&1) || rc=$?
printf '%s\n' "$out"
((rc != 0)) || fail "swap on succeeded although swapon(2) failed"
assert_match "swapon" "$out" "the failed swapon is named"
nothing_left "the failed swapon"
assert_eq "" "$(blkid -p -o value -s TYPE "$ns" || true)" "a signature after the failed swapon"
assert_eq "$before" "$(dd if="$ns" bs=4096 count=1 iflag=direct status=none | sha256sum)" \
	"the first page after the failed swapon"

# The whole refusal reaches the user: every guarantee that is not held, each
# with its fix, in a line longer than the 512 bytes it was once cut to.
rc=0
out=$(setpriv --bounding-set -ipc_lock,-sys_resource --inh-caps -ipc_lock,-sys_resource -- \
	bash -c "ulimit -l 64 && exec ublkit swap on --file $ns" 2>&1) || rc=$?
printf '%s\n' "$out"
((rc != 0)) || fail "swap on succeeded without CAP_IPC_LOCK and CAP_SYS_RESOURCE"
line=$(grep -m1 "not safe to back swap" <<<"$out" || true)
log "the refusal's line has ${#line} bytes"
((${#line} > 512)) || fail "the refusal is missing or short: '$line'"
assert_match "memory-locked: .*oom-protected: .*OOMScoreAdjust=-1000 in the unit" "$line" \
	"the refusal, to its last fix"
nothing_left "the refusal without CAP_IPC_LOCK and CAP_SYS_RESOURCE"
log "swap files, a failed swapon and the whole refusal behave"
