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
# list in a loop; record each run's exit status and what it saw of nsid 2
(
	i=0
	while [[ ! -e $stop ]]; do
		rc=0
		timeout 30 ublkit nvme list --json >"$work/out" 2>"$work/err" || rc=$?
		seen=$(jq -r '[.[] | select(.nsid == 2)] | length' "$work/out" 2>/dev/null || echo bad)
		echo "$i $rc $seen" >>"$work/runs"
		((rc == 0)) || cp "$work/err" "$work/err.$i"
		i=$((i + 1))
	done
) &
loop=$!
trap 'touch "$stop"; wait $loop 2>/dev/null || true; nvme attach-ns /dev/nvme0 -n 2 -c 0 >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

wait_for 30 test -s "$work/runs" || fail "the list loop did not run"
assert_ok nvme detach-ns /dev/nvme0 -n 2 -c 0
wait_for 10 test ! -e "$dev2" || fail "$dev2 still exists 10 s after detach-ns"
# the loop must see it gone
n=$(wc -l <"$work/runs")
wait_for 30 bash -c "tail -n +$((n + 1)) '$work/runs' | grep -q ' 0 0\$'" ||
	fail "ublkit nvme list still shows namespace 2 after detach"
assert_ok nvme attach-ns /dev/nvme0 -n 2 -c 0
wait_for 10 nvme_ns_dev 2 || fail "namespace 2 did not come back"
udevadm settle -t 30
n=$(wc -l <"$work/runs")
wait_for 30 bash -c "tail -n +$((n + 1)) '$work/runs' | grep -q ' 0 1\$'" ||
	fail "ublkit nvme list does not show namespace 2 after attach"
touch "$stop"
wait $loop || true
runs=$(wc -l <"$work/runs")
bad=$(awk '$2 != 0 || $3 == "bad"' "$work/runs")
log "$runs runs of ublkit nvme list during detach/attach"
if [[ -n $bad ]]; then
	cat "$work"/err.* 2>/dev/null || true
	fail "runs that failed or printed no JSON (run, status, nsid 2 seen): $bad"
fi
awk '$3 == 0' "$work/runs" | grep -q . || fail "no run saw namespace 2 gone"
id_after=$(ident)
assert_eq "$id_before" "$id_after" "identity of namespace 2 after detach/attach"
log "namespace 2 dropped out and came back as $id_after ($(nvme_ns_dev 2))"
