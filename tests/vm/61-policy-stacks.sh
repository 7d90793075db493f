#!/bin/bash
# Stacks over several namespaces: a striped rule waits until all its
# Members= namespaces are there, then makes one striped device over both,
# which takes fio with verification; a thin-pool rule carves metadata and
# data from a namespace and makes a pool in which a thin volume is made
# and written. A pool with a volume in it does not go down (reported);
# once the volume is removed it does, leaving nothing.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
trap policy_cleanup EXIT
wipefs -a -q "$ns1" "$ns2"

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
log "PASS"
