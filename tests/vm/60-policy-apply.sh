#!/bin/bash
# ublkit apply with two namespaces: one becomes swap on a hardened ublk
# server, the other swap on dm-crypt with a random key. Both are active
# after apply; a second apply changes nothing and says so; status shows
# both healthy; down --all leaves nothing (no dm or ublk device, no swap,
# no udev cookie, no run state); and the cycle works a second time
# (ublkit's own swap signature from the first run is no data).
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
trap policy_cleanup EXIT
blank_namespaces "$ns1" "$ns2"

policy <<'CONF'
[Global]
Hardening=required

[Rule fast]
MatchModel=QEMU*
MatchNSID=1
Create=ublk-swap
Priority=10

[Rule enc]
MatchNSID=2
Create=dm-crypt-swap
Priority=5
CONF

# --- the plan, and nothing made --------------------------------------------
run_apply --dry-run
assert_eq 0 "$rc" "exit status of apply --dry-run"
assert_match "ublk-swap 'fast' \(rule fast\): create a hardened ublk device served from $ns1" \
	"$(line_of "$ns1")" "plan for namespace 1"
assert_match "dm-crypt-swap 'enc' \(rule enc\): create /dev/mapper/enc, dm-crypt" \
	"$(line_of "$ns2")" "plan for namespace 2"
assert_match "dry run: nothing was changed" "$out"
plan_ns1=$(line_of "$ns1")
[[ -z $(dm_names)$(ublk_ids)$(swap_areas)$(run_states) ]] || fail "the dry run made something"

# --- apply -------------------------------------------------------------------
run_apply
assert_eq 0 "$rc" "exit status of apply"
# the real run reports in the words of the plan
[[ $(line_of "$ns1") == "$plan_ns1: done: /dev/ublkb"*" is swap"* ]] ||
	fail "the result for namespace 1 is not in the words of the plan"
assert_match "done: /dev/mapper/enc is swap" "$(line_of "$ns2")" "result for namespace 2"
assert_match "2 made, 0 failed" "$out"
swap_areas
id=$(jq -r .ublk_id <<<"$(ublkit status --json | jq '.instances[] | select(.name == "fast")')")
assert_match '^[0-9]+$' "$id" "ublk id of instance fast"
grep -q "^/dev/ublkb$id " /proc/swaps || fail "/dev/ublkb$id is not active swap"
enc_dm=$(readlink -f /dev/mapper/enc)
grep -q "^$enc_dm " /proc/swaps || fail "/dev/mapper/enc ($enc_dm) is not active swap"
assert_eq 10 "$(awk -v d="/dev/ublkb$id" '$1 == d {print $5}' /proc/swaps)" "priority of the ublk swap"
assert_eq 5 "$(awk -v d="$enc_dm" '$1 == d {print $5}' /proc/swaps)" "priority of the crypt swap"
assert_match '^UBLKIT-crypt-' "$(dmsetup info -c --noheadings -o uuid enc)" "uuid of enc"
assert_eq "enc
fast" "$(run_states)" "run state files"
grep -q "^made=ublk $id$" /run/ublkit/policy/fast || fail "run state of fast: $(cat /run/ublkit/policy/fast)"
cat /run/ublkit/policy/enc

# --- a second apply: a no-op that says so --------------------------------
run_apply
assert_eq 0 "$rc" "exit status of the second apply"
assert_match "present, nothing to do" "$(line_of "$ns1")"
assert_match "present, nothing to do" "$(line_of "$ns2")"
assert_match "nothing to do: nothing was changed" "$out"
assert_eq 2 "$(swap_areas | wc -l)" "swap areas after the second apply"

# --- status ------------------------------------------------------------------
assert_ok ublkit status
assert_ok ublkit status --json
st=$out
assert_eq 2 "$(jq '.instances | length' <<<"$st")" "instances in status"
assert_eq "true true" "$(jq -r '[.instances[].healthy] | map(tostring) | join(" ")' <<<"$st")" "health"
assert_eq true "$(jq -r '.instances[] | select(.name == "fast") | .hardening_held' <<<"$st")" "hardening"
assert_eq true "$(jq -r '.instances[] | select(.name == "fast") | .server_alive' <<<"$st")" "server alive"
assert_eq true "$(jq -r '.instances[] | select(.name == "enc") | .swap_active' <<<"$st")" "crypt swap active"
assert_eq ok "$(jq -r '.instances[] | select(.name == "enc") | .dm_state' <<<"$st")" "dm state"
assert_eq "${ns2}" "$(jq -r '.instances[] | select(.name == "enc") | .namespaces[0].device' <<<"$st")" "namespace of enc"
assert_eq "${ns1##*/}" "$(jq -r '.rules[] | select(.name == "fast") | .namespaces[0]' <<<"$st")" "rule fast claims"

# --- down ----------------------------------------------------------------------
run_down --all
assert_eq 0 "$rc" "exit status of down --all"
assert_match "swapoff /dev/mapper/enc, removed enc" "$out"
assert_match "swapoff /dev/ublkb$id, removed ublk $id" "$out"
nothing_left "down --all"

# --- and again: the swap signature ublkit left on namespace 1 is its own ----
run_apply
assert_eq 0 "$rc" "exit status of apply after down"
assert_eq 2 "$(swap_areas | wc -l)" "swap areas after the second cycle"
run_down enc
assert_eq 0 "$rc" "exit status of down enc"
assert_eq fast "$(run_states)" "run state after down enc"
run_down fast
assert_eq 0 "$rc" "exit status of down fast"
run_down fast
assert_eq 1 "$rc" "exit status of down of an instance that is gone"
nothing_left "the second cycle"
log "PASS"
