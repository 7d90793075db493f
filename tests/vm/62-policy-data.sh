#!/bin/bash
# A namespace with a file system is never formatted, whatever the rules
# say: not without AllowTakingData=yes, not without --force, never while
# it is mounted; with both and unmounted it is taken. The other namespace
# is provisioned all the same, and apply exits 4 (something refused,
# something in place), or 1 when the refused namespace is all it has.
# A swap rule, which writes a signature, leaves the file system alone.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
need_cmd mkfs.ext4 blkid
trap 'umount /mnt/policy-data 2>/dev/null || true; policy_cleanup' EXIT
blank_namespaces "$ns1" "$ns2"
run mkfs.ext4 -q -F -L precious "$ns2"
uuid=$(blkid -o value -s UUID "$ns2")

still_ext4() { # WHEN
	assert_eq "ext4 $uuid" "$(blkid -p -o value -s TYPE "$ns2") $(blkid -p -o value -s UUID "$ns2")" \
		"the file system on namespace 2 $1"
}

policy <<'CONF'
[Rule any]
MatchModel=QEMU*
Create=dm-linear
CONF

# --- the rule claims both; the one with a file system is refused ------------
run_apply
assert_eq 4 "$rc" "exit status of apply with a namespace refused"
assert_match "done: /dev/mapper/any" "$(line_of "$ns1")"
assert_match "refused: ${ns2##*/} holds data \(TYPE=ext4\); it is never taken unless \[Global\] AllowTakingData=yes \(not set\) and the command is run with --force" \
	"$(line_of "$ns2")"
still_ext4 "after apply"
run_apply --force
assert_eq 4 "$rc" "exit status of apply --force without AllowTakingData"
assert_match "refused: " "$(line_of "$ns2")"
still_ext4 "after apply --force"

# --- allowed, but not forced --------------------------------------------------------
policy <<'CONF'
[Global]
AllowTakingData=yes

[Rule any]
MatchModel=QEMU*
Create=dm-linear
CONF
run_apply
assert_eq 4 "$rc" "exit status with AllowTakingData=yes alone"
assert_match "refused: .*AllowTakingData=yes \(set\) and the command is run with --force" "$(line_of "$ns2")"
still_ext4 "with AllowTakingData=yes alone"

# --- mounted: never, whatever the flags -------------------------------------------
mkdir -p /mnt/policy-data
run mount "$ns2" /mnt/policy-data
run_apply --force
assert_match "refused: ${ns2##*/} is in use" "$(line_of "$ns2")"
run umount /mnt/policy-data
still_ext4 "after apply --force while mounted"

# --- allowed and forced: taken -----------------------------------------------------------
run_apply --dry-run --force
assert_match "create /dev/mapper/any-2, linear over $ns2; taking ${ns2##*/}, which holds TYPE=ext4" \
	"$(line_of "$ns2")"
still_ext4 "after the dry run"
run_apply --force
assert_eq 0 "$rc" "exit status of apply --force with AllowTakingData=yes"
assert_match "done: /dev/mapper/any-2" "$(line_of "$ns2")"
assert_match "present, nothing to do" "$(line_of "$ns1")"
assert_block /dev/mapper/any /dev/mapper/any-2
run_down --all
assert_eq 0 "$rc" "exit status of down --all"
nothing_left "down --all"
still_ext4 "after dm-linear over it went"

# --- a swap rule writes a signature: never over the file system -----------------
swap_policy() { # [GLOBAL LINE]
	policy <<CONF
[Global]
Hardening=best-effort
${1-}

[Rule sw]
MatchNSID=2
Create=ublk-swap
CONF
}
swap_policy
run_apply
assert_eq 1 "$rc" "exit status when the one claimed namespace is refused"
assert_match "^${ns2##*/}: ublk-swap 'sw' \(rule sw\): refused: ${ns2##*/} holds data \(TYPE=ext4\)" \
	"$(line_of "$ns2")"
run_apply --force
assert_eq 1 "$rc" "exit status of apply --force without AllowTakingData, swap"
assert_match "refused: " "$(line_of "$ns2")"
swap_policy "AllowTakingData=yes"
run_apply
assert_eq 1 "$rc" "exit status with AllowTakingData=yes alone, swap"
assert_match "refused: .*\(set\) and the command is run with --force" "$(line_of "$ns2")"
[[ -z $(swap_areas)$(ublk_ids)$(run_states) ]] || fail "a swap rule made something over ext4"
still_ext4 "after the swap rule was refused"
nothing_left "the refused swap rule"
log "PASS"
