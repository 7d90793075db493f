# Helpers for the VM tests that create ublk devices. Source after lib.sh.
# shellcheck shell=bash

need_cmd ublkit jq

# Set by ublk_add.
# shellcheck disable=SC2034
dev_id="" dev_path="" dev_pid=""
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
