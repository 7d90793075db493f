# Helpers for the VM tests that create ublk devices. Source after lib.sh.
# shellcheck shell=bash

need_cmd ublkit jq

# Set by ublk_add.
# shellcheck disable=SC2034
dev_id="" dev_path="" dev_pid="" paused_id="" paused_pid="" paused_add=""
ublkit modprobe ublk_drv >/dev/null || fail "cannot load ublk_drv"

# Leave no device behind, whatever happens to the test.
ublk_cleanup() { ublkit del --all >/dev/null 2>&1 || true; }
trap ublk_cleanup EXIT

# ublk_add ARGS...: ublkit add --json; sets dev_id, dev_path, dev_pid.
ublk_add() {
	local o
	printf '+ ublkit add %s\n' "$*"
	o=$(ublkit add --json "$@") || fail "ublkit add $* failed"
	dev_id=$(jq -r .id <<<"$o")
	dev_path=$(jq -r .block_device <<<"$o")
	# shellcheck disable=SC2034
	dev_pid=$(jq -r .server_pid <<<"$o")
	[[ $dev_id =~ ^[0-9]+$ ]] || fail "ublkit add printed no id: $o"
	assert_block "$dev_path"
}

# Kernel state of a device as ublkit list reports it ("" when absent).
ublk_state() {
	ublkit list --json | jq -r --argjson id "$1" '.[] | select(.id == $id) | .state'
}

ublk_count() { ublkit list --json | jq length; }

ublk_gone() { [[ ! -e /sys/class/ublk-char/ublkc$1 ]]; }

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# A scratch file on tmpfs for the file target.
tmpfs_file() { # PATH SIZE
	mountpoint -q /mnt/tmpfs || { mkdir -p /mnt/tmpfs && mount -t tmpfs -o size=1500M tmpfs /mnt/tmpfs; }
	truncate -s "$2" "$1"
}

# wait_state ID STATE [SECONDS]: the kernel may need the block layer's
# ~30 s request timeout to notice a dead server, so wait up to 60 s.
state_is() { [[ $(ublk_state "$1") == "$2" ]]; }
wait_state() {
	local id=$1 want=$2 secs=${3:-60}
	wait_for "$secs" state_is "$id" "$want" ||
		fail "ublk$id did not reach state $want in ${secs}s (now: $(ublk_state "$id"))"
}

is_orphan() { ublkit orphans --json | jq -e --argjson id "$1" 'any(.[]; .id == $id)' >/dev/null; }

# Start 'ublkit add ARGS' with the server stopped (SIGSTOP) after ADD_DEV,
# before START_DEV (the stop-before-start.so shim). Sets paused_id (from --id, which ARGS must give),
# paused_pid (the server) and paused_add (the waiting ublkit add).
add_paused() { # ID ARGS...
	paused_id=$1
	shift
	LD_PRELOAD=$vm_bin/stop-before-start.so ublkit add --id "$paused_id" "$@" >/tmp/paused.out 2>&1 &
	# shellcheck disable=SC2034
	paused_add=$!
	wait_for 20 test -c "/dev/ublkc$paused_id" ||
		fail "paused server: no /dev/ublkc$paused_id: $(cat /tmp/paused.out)"
	wait_for 20 server_stopped "$paused_id" || fail "paused server did not stop"
	# shellcheck disable=SC2034
	paused_pid=$(ublkit info --json "$paused_id" | jq -r .server_pid)
}

server_stopped() {
	local pid
	pid=$(ublkit info --json "$1" | jq -r .server_pid)
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == T ]]
}

# crash_under_fio SECS FIO_PID SERVER_PID ID: after SECS of I/O, kill -9 the
# server of ublkID while fio (writing /tmp/fio.out) still runs.
crash_under_fio() {
	sleep "$1"
	kill -0 "$2" || fail "fio ended before the crash: $(cat /tmp/fio.out)"
	kill -9 "$3"
	log "killed server $3 of ublk$4 under fio"
}
