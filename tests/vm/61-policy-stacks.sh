#!/bin/bash
# Stacks over several namespaces: a striped rule waits until all its
# Members= namespaces are there, then makes one striped device over both,
# which takes fio with verification; a thin-pool rule carves metadata and
# data from a namespace and makes a pool in which a thin volume is made
# and written. A pool with a volume in it does not go down (reported);
# once the volume is removed it does, leaving nothing. A pool that went
# down (as at a reboot) is opened again by the next apply, not formatted:
# its volume's data is still there; a rule that no longer fits the pool
# is refused and wipes nothing.
# vm-timeout: 900
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
trap 'policy_cleanup; clear_metadata "$ns1"' EXIT
blank_namespaces "$ns1" "$ns2"

# --- striped: three members wanted, two present: wait --------------------------
policy <<'CONF'
[Rule st]
MatchModel=QEMU*
Create=dm-striped
Members=3
Chunk=64K
CONF
run_apply
assert_eq 0 "$rc" "exit status of apply with a striped set incomplete"
out_has "^st: dm-striped 'st' \(rule st\): waiting for 1 more namespace \(has 2 of Members=3\)"
assert_match "member of striped 'st' \(wait\)" "$(line_of "$ns1")"
[[ -z $(dm_names)$(run_states) ]] || fail "a striped device was made with a member missing"

# --- two members: one striped device over both ----------------------------------
sed -i 's/^Members=3/Members=2/' "$policy_conf"
run_apply
assert_eq 0 "$rc" "exit status of apply, striped"
out_has "^st: dm-striped 'st' \(rule st\): create /dev/mapper/st, striped over $ns1 $ns2: done: /dev/mapper/st$"
assert_block /dev/mapper/st
assert_eq $((2 * VM_NVME_NS2_BYTES)) "$(dev_size /dev/mapper/st)" "size of the striped device"
assert_match '^UBLKIT-striped-' "$(dmsetup info -c --noheadings -o uuid st)" "uuid of st"
assert_match ' striped 2 128 ' "$(dmsetup table st)" "striped table"
fio_verify /dev/mapper/st 128M
run_apply
assert_eq 0 "$rc" "exit status of the second apply, striped"
assert_match "nothing to do" "$out"
run_down st
assert_eq 0 "$rc" "exit status of down st"
nothing_left "down st"

# --- thin pool on namespace 1; namespace 2 left alone ---------------------------
policy <<'CONF'
# an exception goes before the rules it makes an exception of
[Rule rest]
MatchNSID=2
Create=ignore

[Rule tp]
Create=dm-thin-pool
MetadataSize=8M
BlockSize=64K
CONF
run_apply --dry-run
assert_match "thin pool /dev/mapper/tp over $ns1 \(metadata tp-tmeta: 8 MiB, data tp-tdata: the rest\)" "$(line_of "$ns1")"
assert_match "rule rest says ignore" "$(line_of "$ns2")"
run_apply
assert_eq 0 "$rc" "exit status of apply, thin pool"
assert_eq "tp
tp-tdata
tp-tmeta" "$(dm_names)" "dm devices of the pool"
assert_eq $((8 << 20)) "$(dev_size /dev/mapper/tp-tmeta)" "metadata size"
assert_eq $((VM_NVME_NS1_BYTES - (8 << 20))) "$(dev_size /dev/mapper/tp-tdata)" "data size"
assert_match ' thin-pool ' "$(dmsetup table tp)" "pool table"
assert_ok ublkit dm create thin vol0 --pool tp --size 256M
assert_block /dev/mapper/vol0
fio_verify /dev/mapper/vol0 64M
assert_ok ublkit status --json
assert_eq tp "$(jq -r '.instances[0].dm_devices' <<<"$out")" "dm devices in status"
assert_eq ok "$(jq -r '.instances[0].dm_state' <<<"$out")" "pool state"

# a volume in the pool: the pool stays, and down says why
run_down --all
assert_eq 1 "$rc" "exit status of down with a volume in the pool"
assert_match "FAILED: removing dm device tp: Device or resource busy" "$out"
assert_block /dev/mapper/tp
assert_eq tp "$(run_states)" "run state of the pool that stayed"
assert_ok ublkit dm remove vol0
run_down --all
assert_eq 0 "$rc" "exit status of down after the volume went"
nothing_left "down of the pool"

# --- the pool survives its down: opened again, its volume's data kept ---------------
run_apply
assert_eq 0 "$rc" "exit status of apply, the pool again"
assert_ok ublkit dm create thin vol0 --pool tp --size 256M
thin_id=$(dmsetup table vol0 | awk '{print $NF}')
assert_match '^[0-9]+$' "$thin_id" "thin id of vol0"
run dd if=/dev/urandom of=/tmp/thin-blob bs=1M count=8 status=none
run dd if=/tmp/thin-blob of=/dev/mapper/vol0 bs=1M oflag=direct status=none
# the volume's device goes as at a shutdown; its data stays in the pool
# ('ublkit dm remove' would delete it from the pool)
run dmsetup remove vol0
run_down --all
assert_eq 0 "$rc" "exit status of down of the pool with a volume in its metadata"
nothing_left "down of the pool with data"
run_apply --dry-run
assert_match "create thin pool /dev/mapper/tp over $ns1 .*; ${ns1##*/} holds this pool already: opened as it is, its thin volumes kept" \
	"$(line_of "$ns1")"
run_apply
assert_eq 0 "$rc" "exit status of apply over the pool that is there"
assert_match "done: /dev/mapper/tp$" "$(line_of "$ns1")"
assert_ok ublkit dm create thin vol0 --pool tp --size 256M --id "$thin_id"
cmp <(dd if=/dev/mapper/vol0 bs=1M count=8 iflag=direct status=none) /tmp/thin-blob ||
	fail "the thin volume's data did not survive the pool's down and apply"
log "the thin volume's data survived the pool's down and apply"

# --- a rule that no longer fits the pool: refused, nothing wiped ---------------------
run dmsetup remove vol0
run_down --all
assert_eq 0 "$rc" "exit status of down, the pool again"
sed -i 's/^MetadataSize=8M/MetadataSize=16M/' "$policy_conf"
run_apply --force
assert_eq 1 "$rc" "exit status of apply with a rule that no longer fits the pool"
assert_match "refused: ${ns1##*/} holds a thin pool with 8 MiB of metadata, not the MetadataSize= of rule tp \(16 MiB\)" \
	"$(line_of "$ns1")"
[[ -z $(dm_names)$(run_states) ]] || fail "a pool was made that does not fit"
sed -i 's/^MetadataSize=16M/MetadataSize=8M/' "$policy_conf"
run_apply
assert_eq 0 "$rc" "exit status of apply with the rule set back"
assert_ok ublkit dm create thin vol0 --pool tp --size 256M --id "$thin_id"
cmp <(dd if=/dev/mapper/vol0 bs=1M count=8 iflag=direct status=none) /tmp/thin-blob ||
	fail "the thin volume's data did not survive the refused apply"
assert_ok ublkit dm remove vol0
run_down --all
assert_eq 0 "$rc" "exit status of the last down"
nothing_left "the last down of the pool"
log "PASS"
