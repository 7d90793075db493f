#!/bin/bash
# Data through ublkit's dm devices: fio with crc32c verification on a
# linear range of a namespace, on a striped device over both namespaces,
# on a thin volume in a pool on ranges of the namespaces and on a cache;
# each is removed afterwards with nothing left (dmsetup ls, no udev
# cookie). A missing target module is reported (exit 3), not guessed at.
# vm-timeout: 300
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dm.sh"
trap dm_cleanup EXIT
wipefs -a -q "$ns1" "$ns2"

# --- a target module that cannot be loaded: exit 3, nothing created --------
# (modprobe configuration disables it; moving the module away would need a
# depmod, which takes minutes under TCG)
if ! grep -q '^dm_cache_smq ' /proc/modules; then
	echo "install dm_cache_smq /bin/false" >/etc/modprobe.d/ublkit-test-nosmq.conf
	rc=0
	ublkit dm create cache c0 --metadata "$ns2" --metadata-length 8M --fast "$ns2" \
		--fast-offset 8M --fast-length 64M --slow "$ns1" 2>/tmp/err || rc=$?
	rm -f /etc/modprobe.d/ublkit-test-nosmq.conf
	cat /tmp/err
	assert_eq 3 "$rc" "exit status of create cache without dm-cache-smq"
	grep -q "dm_cache_smq" /tmp/err || fail "the missing module is not named"
	nothing_left "the refused cache"
else
	log "dm-cache-smq is loaded already: the missing-module check is skipped"
fi

# --- linear: a range of namespace 1 ----------------------------------------
assert_ok ublkit dm create linear lin0 --device "$ns1" --offset 64M --length 256M --json
assert_eq 268435456 "$(jq -r .size <<<"$out")" "size of lin0"
assert_match '^UBLKIT-linear-[0-9a-f]{16}-lin0$' "$(jq -r .uuid <<<"$out")" "uuid of lin0"
assert_eq 131072 "$(jq -r '.table | split(" ") | .[4]' <<<"$out")" "offset in the table (sectors)"
assert_block /dev/mapper/lin0
assert_eq 268435456 "$(dev_size /dev/mapper/lin0)" "size of /dev/mapper/lin0"
cookies_clear
fio_verify /dev/mapper/lin0 64M
assert_ok ublkit dm status lin0 --json
assert_eq linear "$(jq -r .kind <<<"$out")" "status kind"
assert_eq 131072 "$(jq -r .status.offset_sectors <<<"$out")" "status offset"
assert_ok ublkit dm list --json
assert_eq '["lin0"]' "$(jq -c '[.[].name]' <<<"$out")" "ublkit dm list"
assert_ok ublkit dm remove lin0
nothing_left "removing lin0"

# a range past the end is refused before anything is made
assert_fails ublkit dm create linear bad0 --device "$ns2" --offset 500M --length 64M
assert_match "do not fit" "$out" "a range past the end"
nothing_left "the refused range"

# --- striped over both namespaces -----------------------------------------
assert_ok ublkit dm create striped str0 --device "$ns1" --device "$ns2" --chunk 64K --json
# the smaller namespace (512 MiB) bounds every stripe
assert_eq 1073741824 "$(jq -r .size <<<"$out")" "size of str0"
fio_verify /dev/mapper/str0 96M
assert_ok ublkit dm status str0 --json
assert_eq 2 "$(jq -r .status.stripes <<<"$out")" "stripes"
assert_eq 128 "$(jq -r .status.chunk_sectors <<<"$out")" "chunk"
assert_eq 0 "$(jq -r .status.stripes_failed <<<"$out")" "failed stripes"
assert_ok ublkit dm remove str0
nothing_left "removing str0"

# --- thin: a pool on ranges of both namespaces, a volume in it -------------
no_pool_on "$ns2"
assert_ok ublkit dm create thin-pool pool0 --metadata "$ns2" --metadata-length 16M \
	--data "$ns1" --data-offset 128M --data-length 384M --low-water 32M --json
assert_eq 402653184 "$(jq -r .size <<<"$out")" "size of pool0"
assert_block /dev/mapper/pool0-tmeta /dev/mapper/pool0-tdata
assert_ok ublkit dm list --json
assert_eq '["pool0"]' "$(jq -c '[.[].name]' <<<"$out")" "parts are not listed"
assert_ok ublkit dm create thin vol0 --pool pool0 --size 1G --json
assert_eq 1073741824 "$(jq -r .size <<<"$out")" "size of vol0 (over-provisioned)"
fio_verify /dev/mapper/vol0 64M
assert_ok ublkit dm status pool0 --json
assert_eq ok "$(jq -r .status.mode <<<"$out")" "pool mode"
assert_eq 6144 "$(jq -r .status.data_total_blocks <<<"$out")" "pool data blocks"
assert_eq 512 "$(jq -r .status.low_water_blocks <<<"$out")" "low-water blocks"
used=$(jq -r .status.data_used_blocks <<<"$out")
((used > 0)) || fail "the pool shows no data used after fio"
assert_ok ublkit dm status vol0 --json
assert_eq 0 "$(jq -r .status.thin_id <<<"$out")" "thin id"
(($(jq -r .status.mapped_sectors <<<"$out") > 0)) || fail "vol0 maps nothing"
# the pool is held by its volume: refused, and says so
assert_fails ublkit dm remove pool0
assert_match "held by dm-[0-9]+ \(vol0\)" "$out" "holder of pool0"
assert_ok ublkit dm remove vol0
# the volume was deleted from the pool: its blocks are free again
assert_ok ublkit dm status pool0 --json
assert_eq 0 "$(jq -r .status.data_used_blocks <<<"$out")" "data used after deleting vol0"
assert_ok ublkit dm remove pool0
nothing_left "removing the pool"

# --- cache: fast range of namespace 2 in front of namespace 1 ---------------
assert_ok ublkit dm create cache cache0 --metadata "$ns2" --metadata-length 8M \
	--fast "$ns2" --fast-offset 8M --fast-length 128M --slow "$ns1" --json
assert_eq 1073741824 "$(jq -r .size <<<"$out")" "size of cache0"
fio_verify /dev/mapper/cache0 64M
assert_ok ublkit dm status cache0 --json
assert_eq writethrough "$(jq -r .status.mode <<<"$out")" "cache mode"
assert_eq 128 "$(jq -r .status.data_block_sectors <<<"$out")" "cache block"
assert_eq 0 "$(jq -r .status.dirty_blocks <<<"$out")" "dirty blocks (writethrough)"
jq -e '.status.read_hits + .status.read_misses > 0' <<<"$out" >/dev/null ||
	fail "cache counters are all zero after fio"
ublkit dm status cache0
assert_ok ublkit dm remove cache0
nothing_left "removing the cache"
