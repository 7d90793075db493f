#!/bin/bash
# Malformed policies: each is refused with its file and line, apply exits
# 1 and makes nothing; a good policy then applies. Also through the
# system's file (/etc/ublkit/ublkit.conf) and a drop-in.
# vm-timeout: 300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
trap 'rm -rf /tmp/policy-bad; policy_cleanup' EXIT
wipefs -a -q "$ns1" "$ns2"
mkdir -p /tmp/policy-bad

n=0
# bad LINE TEXT: a policy whose problem is on line LINE
bad() {
	local line=$1 f
	n=$((n + 1))
	f=/tmp/policy-bad/bad$n.conf
	printf '%s\n' "$2" >"$f"
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
log "$n malformed policies refused"

# the system's files: a bad drop-in spoils the policy
policy <<'CONF'
[Rule lin]
MatchModel=QEMU*
Create=dm-linear
CONF
mkdir -p /etc/ublkit/ublkit.conf.d
printf '[Rule lin]\nCreate=dm-linearr\n' >/etc/ublkit/ublkit.conf.d/50-typo.conf
run_apply
assert_eq 1 "$rc" "exit status with a bad drop-in"
out_has "^/etc/ublkit/ublkit.conf.d/50-typo.conf:2: "
[[ -z $(dm_names)$(run_states) ]] || fail "something was made with a bad drop-in"
rm /etc/ublkit/ublkit.conf.d/50-typo.conf
run_apply
assert_eq 0 "$rc" "exit status with the drop-in gone"
assert_match "2 made, 0 failed" "$out"
run_down --all
nothing_left "down --all"
log "PASS"
