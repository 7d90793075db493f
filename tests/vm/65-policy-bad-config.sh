#!/bin/bash
# Malformed policies: each is refused with its file and line by
# check-config (exit 1, also in --json) and by apply, which exits 1 and
# makes nothing; a good policy then applies. Also through the system's
# file (/etc/ublkit/ublkit.conf) and a drop-in.
# vm-timeout: 300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
trap 'rm -rf /tmp/policy-bad; policy_cleanup' EXIT
blank_namespaces "$ns1" "$ns2"
mkdir -p /tmp/policy-bad

# run_check ARGS...: `ublkit check-config ARGS`, output in $out, status in $rc.
run_check() {
	rc=0
	printf '+ ublkit check-config %s\n' "$*"
	out=$(ublkit check-config "$@" 2>&1) || rc=$?
	printf '%s\n[exit %d]\n' "$out" "$rc"
}

n=0
# bad LINE TEXT: a policy whose problem is on line LINE
bad() {
	local line=$1 f
	n=$((n + 1))
	f=/tmp/policy-bad/bad$n.conf
	printf '%s\n' "$2" >"$f"
	run_check "$f"
	assert_eq 1 "$rc" "exit status of check-config with bad$n.conf"
	out_has "^$f:$line: " "check-config bad$n.conf: the problem's file:line"
	rc=0
	ublkit check-config --json "$f" >/tmp/policy-bad/out.json 2>/dev/null || rc=$?
	assert_eq 1 "$rc" "exit status of check-config --json with bad$n.conf"
	jq -e --arg f "$f" --argjson line "$line" \
		'.ok == false and any(.problems[]; .file == $f and .line == $line)' \
		/tmp/policy-bad/out.json >/dev/null ||
		fail "check-config --json bad$n.conf: no problem at $f:$line: $(cat /tmp/policy-bad/out.json)"
	run_apply --config "$f"
	assert_eq 1 "$rc" "exit status of apply with bad$n.conf"
	out_has "^$f:$line: " "bad$n.conf: the problem's file:line"
	assert_match "nothing was applied" "$out"
	[[ -z $(dm_names)$(ublk_ids)$(swap_areas)$(run_states) ]] || fail "bad$n.conf: something was made"
}

bad 2 $'[Rule a]\nCreate=sandwich'
bad 4 $'[Rule a]\nMatchNSID=1\nCreate=dm-striped\nMembers=1'
bad 1 $'[Rule has space]\nCreate=ublk'
bad 2 $'[Rule a]\nMatchMinSize=lots\nCreate=ublk'
bad 1 $'Create=ublk'
bad 3 $'[Rule a]\nCreate=ublk\nFrobnicate=yes'
bad 2 $'[Global]\nAllowTakingData=perhaps'
bad 2 $'[Global]\nHardening=sometimes'
bad 3 $'[Rule a]\nCreate=ublk-swap\nPriority=99999'
bad 2 $'[Rule a]\nMatchNSID=one\nCreate=ublk'
bad 1 $'[Rulez a]\nCreate=ublk'
bad 2 $'[Rule a]\nthis line has no equals sign\nCreate=ublk'
bad 3 $'[Rule a]\nCreate=ublk\nQueues=0'
bad 2 $'[Rule a]\nMaxPercentUsed=300\nCreate=ublk'
# two rules that claim the same namespaces: a catch-all before an exception
bad 4 $'[Rule all]\nCreate=ublk-swap\n\n[Rule keep]\nMatchNSID=1\nCreate=ignore'
# ... and before a narrower rule
bad 4 $'[Rule qemu]\nMatchModel=QEMU*\nCreate=dm-linear\n[Rule one]\nMatchModel=QEMU NVMe Ctrl\nMatchNSID=1\nCreate=ublk'
# globs that can never match
bad 2 $'[Rule a]\nMatchController=nvme0n1\nCreate=ublk'
bad 3 $'[Rule a]\nCreate=ublk\nMatchSerial=ublkit-serial-number-21'
bad 2 $'[Rule a]\nMatchIdentity=eui.0011223344556677\nCreate=ublk'
# a stripe over one namespace
bad 4 $'[Rule a]\nMatchIdentity=eui64.0011223344556677\nCreate=dm-striped\nMembers=2'
log "$n malformed policies refused"

# the system's files: a bad drop-in spoils the policy
policy <<'CONF'
[Rule lin]
MatchModel=QEMU*
Create=dm-linear
CONF
mkdir -p /etc/ublkit/ublkit.conf.d
printf '[Rule lin]\nCreate=dm-linearr\n' >/etc/ublkit/ublkit.conf.d/50-typo.conf
run_check
assert_eq 1 "$rc" "exit status of check-config with a bad drop-in"
out_has "^/etc/ublkit/ublkit.conf.d/50-typo.conf:2: "
run_apply
assert_eq 1 "$rc" "exit status with a bad drop-in"
out_has "^/etc/ublkit/ublkit.conf.d/50-typo.conf:2: "
[[ -z $(dm_names)$(run_states) ]] || fail "something was made with a bad drop-in"
rm /etc/ublkit/ublkit.conf.d/50-typo.conf
run_check
assert_eq 0 "$rc" "exit status of check-config with the drop-in gone"
run_apply
assert_eq 0 "$rc" "exit status with the drop-in gone"
assert_match "2 made, 0 failed" "$out"
run_down --all
nothing_left "down --all"
log "PASS"
