#!/bin/bash
# A namespace detached while 'ublkit nvme list' runs in a loop: no crash
# or hang, the namespace drops out; attached again, it is back with the
# same identity.
# vm-timeout: 180
. "$(dirname "$0")/lib.sh"

need_cmd ublkit nvme jq

udevadm settle -t 30
dev2=$(nvme_ns_dev 2) || fail "no namespace 2"
ident() { ublkit nvme list --json | jq -r '.[] | select(.nsid == 2) | .identity'; }
id_before=$(ident)
[[ -n $id_before ]] || fail "namespace 2 is not listed"
log "namespace 2 is $dev2, identity $id_before"

work=$(mktemp -d)
stop=$work/stop
# LOOP NAME CMD...: run CMD until told to stop; record each run's exit
# status and how many times nsid 2 appears in its output
loop() {
	local name=$1 i=0 rc seen
	shift
	while [[ ! -e $stop ]]; do
		rc=0
		timeout 30 "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
		seen=$(grep -c '"nsid": 2,' "$work/$name.out" || true)
		echo "$i $rc $seen" >>"$work/$name.runs"
		((rc == 0)) || cp "$work/$name.err" "$work/$name.err.$i"
		i=$((i + 1))
	done
}
loop list ublkit nvme list --json &
list_pid=$!
# info on the very namespace that goes away: a failure for it is fine
# (exit 1, "no NVMe namespace"), a crash or a hang is not
loop info ublkit nvme info "$dev2" --json &
info_pid=$!
trap 'touch "$stop"; wait $list_pid $info_pid 2>/dev/null || true; nvme attach-ns /dev/nvme0 -n 2 -c 0 >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

wait_for 30 test -s "$work/list.runs" || fail "the list loop did not run"
cycles=3
for cycle in $(seq "$cycles"); do
	assert_ok nvme detach-ns /dev/nvme0 -n 2 -c 0
	wait_for 10 test ! -e "$dev2" || fail "$dev2 still exists 10 s after detach-ns"
	n=$(wc -l <"$work/list.runs")
	wait_for 30 bash -c "tail -n +$((n + 1)) '$work/list.runs' | grep -q ' 0 0\$'" ||
		fail "cycle $cycle: ublkit nvme list still shows namespace 2 after detach"
	assert_ok nvme attach-ns /dev/nvme0 -n 2 -c 0
	wait_for 10 nvme_ns_dev 2 || fail "cycle $cycle: namespace 2 did not come back"
	udevadm settle -t 30
	dev2=$(nvme_ns_dev 2)
	n=$(wc -l <"$work/list.runs")
	wait_for 30 bash -c "tail -n +$((n + 1)) '$work/list.runs' | grep -q ' 0 1\$'" ||
		fail "cycle $cycle: ublkit nvme list does not show namespace 2 after attach"
done
touch "$stop"
wait $list_pid $info_pid || true

log "$(wc -l <"$work/list.runs") runs of ublkit nvme list, $(wc -l <"$work/info.runs") of ublkit nvme info $dev2, during $cycles detach/attach cycles"
bad=$(awk '$2 != 0' "$work/list.runs")
if [[ -n $bad ]]; then
	cat "$work"/list.err.* 2>/dev/null || true
	fail "ublkit nvme list failed (run, status, nsid 2 seen): $bad"
fi
bad=$(awk '$2 != 0 && $2 != 1' "$work/info.runs")
if [[ -n $bad ]]; then
	cat "$work"/info.err.* 2>/dev/null || true
	fail "ublkit nvme info crashed or hung (run, status): $bad"
fi
log "info runs that found the namespace gone: $(awk '$2 == 1' "$work/info.runs" | wc -l)"
awk '$3 == 0' "$work/list.runs" | grep -q . || fail "no run saw namespace 2 gone"
id_after=$(ident)
assert_eq "$id_before" "$id_after" "identity of namespace 2 after detach/attach"
log "namespace 2 dropped out and came back as $id_after ($(nvme_ns_dev 2))"
