#!/bin/bash
# dm-crypt with a random key, for swap: fio with crc32c verification on it,
# swap on it, and its key in no file under /run, /etc, /var or /tmp (nor
# in ublkit's output or the journal). Removed with nothing left.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
need_cmd mkswap swapon swapoff
trap dm_cleanup EXIT
wipefs -a -q "$ns2"

assert_ok ublkit dm create crypt swap0 --device "$ns2" --offset 1M --json
created=$out
assert_eq crypt "$(jq -r .kind <<<"$created")" "kind"
assert_eq $((512 * 1024 * 1024 - 1024 * 1024)) "$(jq -r .size <<<"$created")" "size"
cookies_clear
# the kernel has the key; ublkit showed it nowhere
key=$(dmsetup table --showkeys swap0 | awk '{print $5}')
[[ $key =~ ^[0-9a-f]{128}$ ]] || fail "unexpected key in the kernel's table: '${key:0:8}...'"
[[ $(dmsetup table --showkeys swap0 | awk '{print $4}') == aes-xts-plain64 ]] ||
	fail "cipher: $(dmsetup table swap0)"
grep -q "$key" <<<"$created" && fail "ublkit dm create printed the key"
assert_ok ublkit dm status swap0 --json
grep -q "$key" <<<"$out" && fail "ublkit dm status printed the key"
assert_match 'aes-xts-plain64 -{128} 0 ' "$(jq -r .table <<<"$out")" "the table shows a masked key"
assert_eq 2048 "$(jq -r .status.offset_sectors <<<"$out")" "offset"

# data round-trips through the cipher
fio_verify /dev/mapper/swap0 64M
# and does not reach the namespace in the clear
printf 'ublkit-plaintext-marker-%.0s' $(seq 64) | dd of=/dev/mapper/swap0 bs=4k count=1 oflag=direct conv=sync status=none
grep -q ublkit-plaintext-marker /dev/mapper/swap0 ||
	fail "the marker does not read back through the cipher"
dd if="$ns2" of=/tmp/raw bs=1M count=2 iflag=direct status=none
if grep -q ublkit-plaintext-marker /tmp/raw; then fail "plaintext reached the namespace"; fi
rm -f /tmp/raw

# swap on it
run mkswap -L cryptswap /dev/mapper/swap0 >/dev/null
run swapon /dev/mapper/swap0
swapon --show
assert_fails ublkit dm remove swap0
assert_match "active swap" "$out" "remove of an active swap area"
run swapoff /dev/mapper/swap0

# the key is in no file ublkit or anything else wrote
journalctl --sync 2>/dev/null || true
if grep -rqsF --exclude-dir=proc -- "$key" /run /etc /var /tmp; then
	grep -rlsF -- "$key" /run /etc /var /tmp
	fail "the key is in a file"
fi
log "the key is in no file under /run /etc /var /tmp"
key=

assert_ok ublkit dm remove swap0
nothing_left "removing swap0"
