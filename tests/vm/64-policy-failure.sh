#!/bin/bash
# A stack that fails halfway is undone and the others are made: with the
# dm-crypt module unavailable, the dm-crypt-swap rule fails on namespace
# 2 (nothing of it is left: no dm device, no swap, no run state, no swap
# signature on the namespace) while namespace 1 gets its ublk device;
# apply exits 4 (partial failure). With the module back, a second apply
# makes the crypt stack and leaves the ublk device as it is.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
need_cmd modprobe blkid
nocrypt=/etc/modprobe.d/ublkit-test-nocrypt.conf
failure_cleanup() {
	rm -f "$nocrypt"
	policy_cleanup
}
trap failure_cleanup EXIT
blank_namespaces "$ns1" "$ns2"

# The module must not be loaded for its absence to matter.
modprobe -r dm_crypt 2>/dev/null || true
grep -q '^dm_crypt ' /proc/modules && skip "dm_crypt is loaded and in use"
# Moving the module away would need a depmod, which takes minutes under
# TCG: modprobe's configuration makes loading it fail the same way.
echo "install dm_crypt /bin/false" >"$nocrypt"

policy <<'CONF'
[Rule plain]
MatchNSID=1
Create=ublk
Queues=2

[Rule enc]
MatchNSID=2
Create=dm-crypt-swap
CONF

run_apply
assert_eq 4 "$rc" "exit status of a partial failure"
assert_match "FAILED: creating dm device enc failed: .*; nothing was left" "$(line_of "$ns2")"
assert_match "done: /dev/ublkb[0-9]+ \(server [0-9]+\)" "$(line_of "$ns1")"
assert_match "1 made, 1 failed" "$out"
# nothing of the crypt stack
[[ -z $(dm_names) ]] || fail "dm devices left by the failed stack: $(dmsetup ls)"
[[ -z $(swap_areas) ]] || fail "swap left: $(cat /proc/swaps)"
[[ -z $(dmsetup udevcookies | tail -n +2) ]] || fail "udev cookies left"
assert_eq plain "$(run_states)" "run state after the partial failure"
assert_eq "" "$(blkid -p -o value -s TYPE "$ns2" || true)" "signature on namespace 2"
# the ublk device works
id=$(sed -n 's/^made=ublk //p' /run/ublkit/policy/plain)
assert_block "/dev/ublkb$id"
assert_eq "$VM_NVME_NS1_BYTES" "$(dev_size "/dev/ublkb$id")" "size of the ublk device"
assert_eq 2 "$(ublkit info --json "$id" | jq -r '.queues')" "queues"
run dd if=/dev/urandom of=/tmp/blob bs=1M count=4 status=none
run dd if=/tmp/blob of="/dev/ublkb$id" bs=1M oflag=direct status=none
cmp <(dd if="$ns1" bs=1M count=4 iflag=direct status=none) /tmp/blob ||
	fail "what was written through the ublk device is not on the namespace"

# --- the module back: the rest is made, the ublk device stays -------------------
rm -f "$nocrypt"
run_apply
assert_eq 0 "$rc" "exit status of apply with the module back"
assert_match "present, nothing to do" "$(line_of "$ns1")"
assert_match "done: /dev/mapper/enc is swap" "$(line_of "$ns2")"
assert_eq "$id" "$(sed -n 's/^made=ublk //p' /run/ublkit/policy/plain)" "the ublk device kept"
run_down --all
assert_eq 0 "$rc" "exit status of down --all"
nothing_left "down --all"

# --- a failure after the dm device was made: it is taken down again -----------
# The run state cannot be written (a read-only file system over its
# directory), so the crypt device that exists by then must go.
policy <<'CONF'
[Rule enc]
MatchNSID=2
Create=dm-crypt-swap
CONF
mkdir -p /run/ublkit/policy
run mount -t tmpfs -o ro tmpfs /run/ublkit/policy
run_apply
umount /run/ublkit/policy
rmdir /run/ublkit/policy	# the test's, not apply's
assert_eq 1 "$rc" "exit status when the only stack failed"
assert_match "FAILED: cannot write the run state: Read-only file system; undone \(removed enc\)" \
	"$(line_of "$ns2")"
assert_match "0 made, 1 failed" "$out"
nothing_left "the undone crypt stack"
log "PASS"
