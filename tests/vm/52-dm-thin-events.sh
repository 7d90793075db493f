#!/bin/bash
# A thin pool filled past its low-water mark: 'ublkit dm watch' reports the
# event within two seconds. Filled completely: the pool's mode is reported
# (out-of-data-space, as an event and in its status), writes fail once the
# kernel's no_space_timeout is over, and nothing hangs. The devices'
# appearing and going away are reported too. Removed with nothing left.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
watch_pid=
stop_watch() { [[ -z $watch_pid ]] || kill "$watch_pid" 2>/dev/null || true; }
param=/sys/module/dm_thin_pool/parameters/no_space_timeout
trap 'stop_watch; dm_cleanup; [[ ! -w $param ]] || echo 60 >$param' EXIT
wipefs -a -q "$ns2"

ublkit dm watch --json >/tmp/watch.json 2>/tmp/watch.err &
watch_pid=$!
sleep 1
kill -0 "$watch_pid" || fail "ublkit dm watch died: $(cat /tmp/watch.err)"

# 64 MiB of data in 1024 blocks of 64 KiB; low water at 16 MiB (256 blocks)
no_pool_on "$ns2"
assert_ok ublkit dm create thin-pool tp0 --metadata "$ns2" --metadata-length 8M \
	--data "$ns2" --data-offset 8M --data-length 64M --low-water 16M
assert_ok ublkit dm create thin tv0 --pool tp0 --size 256M
# writes to a full pool wait this long, then fail (the default is 60 s)
echo 5 >"$param"

# 40 MiB: 640 of 1024 blocks, 384 free, above the mark: no low-water event
run dd if=/dev/urandom of=/dev/mapper/tv0 bs=1M count=40 oflag=direct status=none
sleep 1
grep -q '"low-water"' /tmp/watch.json && fail "low-water reported above the mark"
# 16 MiB more: 896 blocks used, 128 free
run dd if=/dev/urandom of=/dev/mapper/tv0 bs=1M count=16 seek=40 oflag=direct status=none
t0=$(now_ms)
wait_for 2 grep -q '"event": "low-water"' /tmp/watch.json ||
	{ cat /tmp/watch.json; fail "no low-water event within 2 s"; }
log "low-water event $(($(now_ms) - t0)) ms after the write that crossed the mark"
jq -s '.[] | select(.event == "low-water") | .message' /tmp/watch.json
assert_eq tp0 "$(jq -rs '[.[] | select(.event == "low-water")][0].name' /tmp/watch.json)" \
	"the device of the low-water event"


# fill it: writes wait no_space_timeout, then fail; nothing hangs
t0=$(now_ms)
rc=0
timeout 60 dd if=/dev/urandom of=/dev/mapper/tv0 bs=1M count=64 seek=56 oflag=direct \
	status=none 2>/tmp/dd.err || rc=$?
took=$(($(now_ms) - t0))
cat /tmp/dd.err
log "dd on the full pool ended after $took ms with status $rc"
((rc != 124)) || fail "dd hung on the full pool"
((rc != 0)) || fail "dd into a full pool succeeded"
grep -q "Input/output error\|No space left" /tmp/dd.err || fail "dd did not see EIO/ENOSPC"
wait_for 2 grep -q '"event": "out-of-space"' /tmp/watch.json ||
	{ cat /tmp/watch.json; fail "no out-of-space event"; }
assert_ok ublkit dm status tp0 --json
assert_eq out-of-data-space "$(jq -r .status.mode <<<"$out")" "pool mode when full"
assert_eq 1024 "$(jq -r .status.data_used_blocks <<<"$out")" "data used when full"
ublkit dm status tp0

# devices that come and go are events too (parts are not ublkit's to report)
assert_ok ublkit dm remove tv0 tp0
nothing_left "removing the pool"
for ev in "added tp0" "added tv0" "removed tv0" "removed tp0"; do
	# shellcheck disable=SC2016 # jq variables
	wait_for 3 jq -se --arg e "${ev% *}" --arg n "${ev#* }" \
		'any(.[]; .event == $e and .name == $n)' /tmp/watch.json ||
		{ cat /tmp/watch.json; fail "no '$ev' event"; }
done
jq -se 'any(.[]; .name | endswith("-tmeta"))' /tmp/watch.json >/dev/null &&
	fail "a part was reported"
stop_watch
wait "$watch_pid" 2>/dev/null || true
watch_pid=
jq -c '{event, name}' /tmp/watch.json
