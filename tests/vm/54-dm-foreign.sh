#!/bin/bash
# Foreign dm devices (made with dmsetup: one without a UUID, one with
# another program's UUID) survive every ublkit dm command, 'remove' of
# their names included: each refuses, and the devices stay active with
# their tables.
# vm-timeout: 180
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
cleanup() {
	dm_cleanup
	dmsetup remove fgn0 2>/dev/null || true
	dmsetup remove fgn1 2>/dev/null || true
}
trap cleanup EXIT
wipefs -a -q "$ns2"

run dmsetup create fgn0 --table "0 65536 linear $ns2 0"
run dmsetup create fgn1 -u LVM-foreignvg0foreignlv0 --table "0 65536 linear $ns2 65536"
t0=$(dmsetup table fgn0) t1=$(dmsetup table fgn1)
snapshot() { dmsetup info -c --noheadings -o name,attr,uuid fgn0 fgn1; dmsetup table fgn0 fgn1; }
before=$(snapshot)

intact() { # WHAT
	assert_eq "$t0" "$(dmsetup table fgn0)" "table of fgn0 after $1"
	assert_eq "$t1" "$(dmsetup table fgn1)" "table of fgn1 after $1"
	[[ $(dmsetup info -c --noheadings -o attr fgn0) != *s* ]] || fail "fgn0 suspended after $1"
	[[ $(dmsetup info -c --noheadings -o attr fgn1) != *s* ]] || fail "fgn1 suspended after $1"
	assert_eq "$before" "$(snapshot)" "fgn0, fgn1 after $1"
	cookies_clear
}

# not listed as ublkit's, listed with --all, status readable
assert_ok ublkit dm list --json
assert_eq 0 "$(jq '[.[] | select(.name | startswith("fgn"))] | length' <<<"$out")" "listed"
assert_ok ublkit dm list --all --json
assert_eq false "$(jq -r '.[] | select(.name == "fgn1") | .ublkit' <<<"$out")" "fgn1 is foreign"
assert_ok ublkit dm status fgn1 --json
assert_eq LVM-foreignvg0foreignlv0 "$(jq -r .uuid <<<"$out")" "uuid of fgn1"
intact "list and status"

for n in fgn0 fgn1; do
	assert_fails ublkit dm remove "$n"
	assert_match "not created by ublkit" "$out" "remove $n"
	assert_fails ublkit dm suspend "$n"
	assert_fails ublkit dm resume "$n"
	assert_fails ublkit dm reload linear "$n" --device "$ns2" --length 32M
	assert_match "not created by ublkit" "$out" "reload $n"
	assert_fails ublkit dm create linear "$n" --device "$ns2" --offset 256M --length 32M
	assert_match "exists" "$out" "create over $n"
	intact "the commands on $n"
done
# remove of several names: ublkit's go, the foreign one stays
assert_ok ublkit dm create linear mine0 --device "$ns2" --offset 256M --length 32M
assert_fails ublkit dm remove mine0 fgn0
[[ ! -e /dev/mapper/mine0 ]] || fail "mine0 was not removed"
intact "remove mine0 fgn0"
# a thin volume in a foreign pool would change the pool: refused
assert_fails ublkit dm create thin tv0 --pool fgn1 --size 64M
assert_match "not created by ublkit" "$out" "thin in a foreign device"
intact "the thin refusal"
assert_ok dmsetup remove fgn0 fgn1
nothing_left "the foreign device tests"
