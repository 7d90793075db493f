#!/bin/bash
# A failure between suspend and resume never leaves a device suspended.
# The injected failure is a table the kernel takes on load and refuses on
# resume: a thin pool reloaded with fewer data blocks than its metadata
# records (the kernel takes a pool's new table on load and checks its size
# against the metadata only when resuming). ublkit puts the old table back and the pool, with its
# thin volume and its data, ends active. A table the kernel refuses on load
# (a device another user holds exclusively) changes nothing.
# vm-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
trap 'umount /mnt/dmtest 2>/dev/null || true; dm_cleanup' EXIT
wipefs -a -q "$ns1" "$ns2"

not_suspended() { # NAME
	local attr
	attr=$(dmsetup info -c --noheadings -o attr "$1")
	[[ $attr != *s* ]] || fail "$1 is suspended (attr $attr)"
	assert_eq active "$(ublkit dm status --json "$1" | jq -r .state)" "state of $1"
}

# whole devices of ublkit's own for the pool (metadata, data), and another
assert_ok ublkit dm create linear rmeta --device "$ns2" --length 16M
assert_ok ublkit dm create linear rdata --device "$ns1" --length 256M
assert_ok ublkit dm create linear rsmall --device "$ns1" --offset 256M --length 128M
no_pool_on /dev/mapper/rmeta
assert_ok ublkit dm create thin-pool rpool --metadata /dev/mapper/rmeta --data /dev/mapper/rdata
assert_ok ublkit dm create thin rvol --pool rpool --size 512M
run dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 status=none
run dd if=/tmp/pattern of=/dev/mapper/rvol bs=1M oflag=direct status=none
table=$(dmsetup table rpool)

# the kernel loads this table, then refuses it when resuming
t0=$(now_ms)
assert_fails ublkit dm reload thin-pool rpool --metadata /dev/mapper/rmeta --data /dev/mapper/rdata \
	--data-length 128M
log "the refused reload took $(($(now_ms) - t0)) ms"
assert_match "old table is back" "$out" "what ublkit says"
dmesg | grep -i "too small" | tail -n 2 || true
not_suspended rpool
not_suspended rvol
assert_eq "$table" "$(dmsetup table rpool)" "the pool's table"
[[ $(dmsetup info -c --noheadings -o tables_loaded rpool) != *Inactive* ]] ||
	fail "an inactive table is left on rpool"
# the data is there and I/O flows
timeout 30 cmp -n 8388608 /tmp/pattern /dev/mapper/rvol || fail "rvol lost its data"
timeout 30 dd if=/dev/urandom of=/dev/mapper/rvol bs=1M count=4 seek=16 oflag=direct \
	status=none || fail "writes to rvol fail after the refused reload"
cookies_clear

# a table refused on load: nothing changes, nothing is suspended
run mkfs.ext4 -q /dev/mapper/rsmall
mkdir -p /mnt/dmtest
run mount /dev/mapper/rsmall /mnt/dmtest
assert_fails ublkit dm reload linear rdata --device /dev/mapper/rsmall
assert_match "refused the new table.*nothing changed" "$out" "a table refused on load"
not_suspended rdata
umount /mnt/dmtest

# a good reload goes through
assert_ok ublkit dm reload linear rsmall --device "$ns1" --offset 256M --length 64M
assert_eq 67108864 "$(dev_size /dev/mapper/rsmall)" "size after the reload"
not_suspended rsmall

assert_ok ublkit dm remove rvol rpool rsmall rdata rmeta
nothing_left "the reload tests"
