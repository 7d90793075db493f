#!/bin/bash
# User recovery: a server created with --recovery is killed; the device
# goes QUIESCED, keeps its block device, and 'ublkit recover' brings it
# back LIVE. A fio verify job running across the crash completes without
# a verify error, and a mounted ext4 survives and fscks clean.
# vm-timeout: 600
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"
need_cmd fio e2fsck

ublk_add --target file --file /dev/nvme0n1 --recovery --queues 2 --id 5 --low-latency
assert_eq true "$(ublkit info --json 5 | jq -r .recovery)" "recovery flag"

# fio verify across a crash.
fio --name=across --filename=/dev/ublkb5 --ioengine=io_uring --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=32 --size=256M --rate=24m --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --randrepeat=0 >/tmp/fio.out 2>&1 &
fio_pid=$!
crash_under_fio 4 "$fio_pid" "$dev_pid" 5
wait_state 5 quiesced 60
assert_block /dev/ublkb5
assert_ok ublkit orphans --json
assert_eq true "$(jq -r '.[] | select(.id == 5) | .recoverable' <<<"$out")" "recoverable"
# The new server is an IO_FLUSHER from its first instruction: a device
# that backs swap waits for it, so it must not page out to it before it
# has hardened itself. A wrapper records its flags when it starts.
cat >/tmp/server-wrap <<'EOF'
#!/bin/sh
awk '{ print $9 }' /proc/$$/stat >/tmp/server-start-flags
exec /usr/libexec/ublkit/ublkit-server "$@"
EOF
chmod +x /tmp/server-wrap
export UBLKIT_SERVER=/tmp/server-wrap
assert_ok ublkit recover 5
unset UBLKIT_SERVER
start_flags=$(cat /tmp/server-start-flags)
(((start_flags & 0x180000) == 0x180000)) ||
	fail "the recovering server started without the IO_FLUSHER flags (flags $(printf %#x "$start_flags"))"
log "the recovering server started as an IO_FLUSHER (flags $(printf %#x "$start_flags"))"
wait_state 5 live 30
new_pid=$(ublkit info --json 5 | jq -r .server_pid)
[[ $new_pid != "$dev_pid" ]] || fail "the server pid did not change"
assert_eq true "$(ublkit info --json 5 | jq -r .low_latency)" "--low-latency kept by recovery"
rc=0
wait "$fio_pid" || rc=$?
tail -n 20 /tmp/fio.out
assert_eq 0 "$rc" "fio exit status across the crash"
grep -q "verify" /tmp/fio.out && grep -qi "bad\|error" /tmp/fio.out && fail "fio reported verify errors"
log "fio verify survived the crash"

# A mounted ext4 across a crash.
run mkfs.ext4 -q -F /dev/ublkb5
mkdir -p /mnt/r
run mount /dev/ublkb5 /mnt/r
dd if=/dev/urandom of=/mnt/r/before bs=1M count=8 status=none
sync
sha=$(sha256sum </mnt/r/before)
pid=$(ublkit info --json 5 | jq -r .server_pid)
kill -9 "$pid"
wait_state 5 quiesced 60
# I/O issued now waits for the new server.
(dd if=/dev/urandom of=/mnt/r/during bs=1M count=4 conv=fsync status=none; echo written >/tmp/during) &
writer=$!
sleep 1
assert_ok ublkit cleanup
assert_match "ublk5: recovered" "$out" "cleanup prefers recovery"
wait_state 5 live 30
wait_for 60 test -s /tmp/during || fail "a write issued during the outage never completed"
wait "$writer"
assert_eq "$sha" "$(sha256sum </mnt/r/before)" "file written before the crash"
run umount /mnt/r
run e2fsck -fn /dev/ublkb5 || fail "e2fsck found errors after the crash"
assert_ok ublkit del 5
assert_eq 0 "$(ublk_count)" "devices left"
