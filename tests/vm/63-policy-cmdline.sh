#!/bin/bash
# ublkit=0 on the kernel command line switches apply off: it does nothing,
# says why and exits 0. rd.ublkit=0 counts only in the initramfs
# (/etc/initrd-release). The command line is replaced by bind-mounting a
# file over /proc/cmdline.
# vm-timeout: 300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-policy.sh"
cmdline_cleanup() {
	umount /proc/cmdline 2>/dev/null || true
	rm -f /etc/initrd-release /tmp/cmdline
	policy_cleanup
}
trap cmdline_cleanup EXIT
blank_namespaces "$ns1" "$ns2"

policy <<'CONF'
[Rule lin]
MatchModel=QEMU*
Create=dm-linear
CONF

fake_cmdline() {
	umount /proc/cmdline 2>/dev/null || true
	printf '%s\n' "$1" >/tmp/cmdline
	run mount --bind /tmp/cmdline /proc/cmdline
	cat /proc/cmdline
}

fake_cmdline "$(cat /proc/cmdline) ublkit=0"
run_apply
assert_eq 0 "$rc" "exit status of apply with ublkit=0"
assert_match "switched off on the kernel command line" "$out"
[[ -z $(dm_names)$(run_states) ]] || fail "apply made something with ublkit=0"
assert_ok ublkit status --json
assert_eq true "$(jq -r .disabled_by_cmdline <<<"$out")" "status: switched off"

# the last occurrence wins
fake_cmdline "ublkit=0 quiet ublkit=1"
run_apply --dry-run
assert_match "create /dev/mapper/lin" "$(line_of "$ns1")"

# rd.ublkit=0 is for the initramfs
fake_cmdline "quiet rd.ublkit=0"
run_apply --dry-run
assert_eq 0 "$rc" "exit status"
assert_match "create /dev/mapper/lin" "$(line_of "$ns1")"
echo 'NAME="initramfs"' >/etc/initrd-release
run_apply
rm -f /etc/initrd-release
assert_eq 0 "$rc" "exit status of apply with rd.ublkit=0 in the initramfs"
assert_match "switched off on the kernel command line" "$out"
[[ -z $(dm_names)$(run_states) ]] || fail "apply made something with rd.ublkit=0 in the initramfs"
umount /proc/cmdline

# switched on again: applied
run_apply
assert_eq 0 "$rc" "exit status of apply"
assert_match "2 made, 0 failed" "$out"
run_down --all
assert_eq 0 "$rc" "exit status of down"
nothing_left "down --all"
log "PASS"
