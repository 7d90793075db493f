#!/bin/bash
# ublk devices end to end on each target: add returns a live device with
# a block node, list/info/stats describe it, I/O works, del removes device
# and server; a --foreground server stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ublk.sh"

tmpfs_file /mnt/tmpfs/backing 256M

check_device() { # TARGET SIZE
	local target=$1 size=$2 j
	assert_eq "$size" "$(dev_size "$dev_path")" "size of $dev_path"
	assert_eq live "$(ublk_state "$dev_id")" "state of ublk$dev_id"
	j=$(ublkit list --json | jq --argjson id "$dev_id" '.[] | select(.id == $id)')
	assert_eq true "$(jq -r .server_alive <<<"$j")" "server alive"
	assert_eq ublkit "$(jq -r .owner <<<"$j")" "owner"
	assert_eq "$target" "$(jq -r .target <<<"$j")" "target"
	assert_eq "$dev_pid" "$(jq -r .server_pid <<<"$j")" "server pid"

	j=$(ublkit info --json "$dev_id")
	rss=$(jq -r .server_rss_bytes <<<"$j")
	log "ublk$dev_id ($target): server resident $((rss >> 10)) KiB"
	((rss > 0 && rss < 32 << 20)) || fail "server resident memory $rss is not under 32 MiB"
	# A server of an in-memory target has no I/O buffers: it is libc,
	# liburing, libublkit and its rings (2.1-2.3 MiB when servers were
	# forked from the CLI; 1.9 MiB as their own program).
	if [[ $target != file ]]; then
		((rss < 3 << 20)) || fail "a $target server is resident with $((rss >> 10)) KiB, over 3 MiB"
	fi

	run dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 status=none
	run dd if=/tmp/pattern of="$dev_path" bs=64k oflag=direct status=none
	if [[ $target != null ]]; then
		run dd if="$dev_path" of=/tmp/readback bs=64k count=16 iflag=direct status=none
		cmp /tmp/pattern /tmp/readback || fail "data read back from $target differs"
	fi
	j=$(ublkit stats --json "$dev_id")
	assert_eq 0 "$(jq -r '.ops.write.errors' <<<"$j")" "write errors"
	(($(jq -r '.ops.write.bytes' <<<"$j") >= 1048576)) || fail "stats count no written bytes: $j"
	(($(jq -r '.latency_ns.p99' <<<"$j") > 0)) || fail "no latency recorded: $j"
	ublkit stats "$dev_id"
}

# queue_policies PID: the scheduling policy of each ublkit-q* thread.
queue_policies() {
	local t
	for t in /proc/"$1"/task/*; do
		[[ $(cat "$t/comm") == ublkit-q* ]] || continue
		chrt -p "${t##*/}" | sed -n 's/.*scheduling policy: //p'
	done | sort | uniq -c | sed 's/^ *//'
}

remove_device() {
	assert_ok ublkit del "$dev_id"
	wait_for 10 ublk_gone "$dev_id" || fail "ublk$dev_id still exists after del"
	wait_for 10 pid_gone "$dev_pid" || fail "server $dev_pid still runs after del"
	assert_missing "$dev_path" "/run/ublkit/devices/$dev_id"
}

# The server is its own program, not a fork of the CLI, and not its child.
server_is_own_program() { # PID
	local exe ppid
	exe=$(readlink "/proc/$1/exe")
	assert_eq /usr/libexec/ublkit/ublkit-server "$exe" "server executable"
	ppid=$(awk '{print $4}' "/proc/$1/stat")
	[[ $(readlink "/proc/$ppid/exe") != /usr/bin/ublkit ]] || fail "server $1 is a child of ublkit"
	grep -q ublkit-server /proc/"$1"/maps || fail "no ublkit-server mapping in server $1"
	grep -q '/usr/bin/ublkit$' /proc/"$1"/maps && fail "server $1 maps the ublkit CLI"
	return 0
}

ublk_add --target null --size 1G --low-latency --queues 2
server_is_own_program "$dev_pid"
# Its log reaches the journal (syslog), each line naming the device.
wait_for 10 journal_has ublkit-server "ublk$dev_id: live" ||
	fail "no 'ublk$dev_id: live' line from ublkit-server in the journal"
check_device null $((1 << 30))
assert_eq "2 SCHED_OTHER" "$(queue_policies "$dev_pid")" "queue thread policies (--low-latency)"
assert_eq true "$(ublkit info --json "$dev_id" | jq -r .low_latency)" "info low_latency"
remove_device

ublk_add --target mem --size 256M --queues 2
check_device mem $((256 << 20))
assert_eq "2 SCHED_BATCH" "$(queue_policies "$dev_pid")" "queue thread policies"
assert_eq false "$(ublkit info --json "$dev_id" | jq -r .low_latency)" "info low_latency"
ublkit list
ublkit info "$dev_id"
remove_device

# A policy the server is started under is kept, not turned into SCHED_BATCH.
o=$(chrt -f 5 ublkit add --json --target null --size 64M) || fail "chrt -f 5 ublkit add failed"
dev_id=$(jq -r .id <<<"$o") dev_pid=$(jq -r .server_pid <<<"$o") dev_path=$(jq -r .block_device <<<"$o")
assert_eq "1 SCHED_FIFO" "$(queue_policies "$dev_pid")" "queue thread policy under chrt -f"
remove_device

ublk_add --target file --file /mnt/tmpfs/backing
check_device file $((256 << 20))
remove_device

ns=/dev/nvme0n2
assert_block "$ns"
ublk_add --target file --file "$ns" --queues 2 --depth 64
check_device file "$(dev_size "$ns")"
remove_device

# --root-storage: argv[0] starts with '@' (systemd's shutdown spares it).
ublk_add --target null --size 64M --root-storage
assert_match '^@ublkit-server ' "$(tr '\0' ' ' </proc/"$dev_pid"/cmdline)" "server argv[0]"
server_is_own_program "$dev_pid"
remove_device

# Under systemd the server's stderr is the journal: it logs there, with
# priorities, tagged with the device id.
run systemd-run --unit=ublkit-fg-test --collect -p Type=exec \
	ublkit add --foreground --target null --size 64M --id 7
wait_for 20 test -b /dev/ublkb7 ||
	fail "the server under systemd-run made no /dev/ublkb7: $(systemctl status ublkit-fg-test 2>&1)"
wait_for 10 unit_journal_has ublkit-fg-test "ublk7: live" ||
	fail "the server's log is not in the unit's journal"
run systemctl stop ublkit-fg-test
wait_for 20 ublk_gone 7 || fail "ublk7 still exists after its unit stopped"

# --foreground: the server is this command's child; SIGTERM to the command
# reaches it; it stops, drains, deletes.
ublkit add --target mem --size 64M --foreground --json >/tmp/fg.json &
fg=$!
wait_for 20 test -s /tmp/fg.json || fail "ublkit add --foreground printed nothing"
id=$(jq -r .id /tmp/fg.json)
assert_block "/dev/ublkb$id"
kill -TERM "$fg"
rc=0
wait "$fg" || rc=$?
assert_eq 0 "$rc" "exit status of the foreground server after SIGTERM"
ublk_gone "$id" || fail "ublk$id still exists after its foreground server stopped"

assert_eq 0 "$(ublk_count)" "devices left"
log "null, mem, file (tmpfs and NVMe) devices created, used and removed"
