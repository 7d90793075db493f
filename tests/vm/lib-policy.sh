# Helpers for the VM tests of the provisioning policy (ublkit apply, down,
# status). Source after lib.sh.
# shellcheck shell=bash

need_cmd ublkit jq dmsetup wipefs

# shellcheck disable=SC2034
ns1=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
# shellcheck disable=SC2034
ns2=$(nvme_ns_dev 2) || fail "no NVMe namespace 2"

policy_conf=/etc/ublkit/ublkit.conf

# Write the policy (stdin) to the system's file; no drop-ins.
policy() {
	mkdir -p /etc/ublkit
	rm -rf /etc/ublkit/ublkit.conf.d
	cat >"$policy_conf"
}

# Names of every dm device, sorted ("" when none).
dm_names() { dmsetup ls 2>/dev/null | awk 'NF == 2 && $1 != "No" {print $1}' | sort; }
ublk_ids() { ls /sys/class/ublk-char 2>/dev/null | sort; }
swap_areas() { tail -n +2 /proc/swaps; }
run_states() { ls /run/ublkit/policy 2>/dev/null; }

# run_apply ARGS...: run `ublkit apply ARGS`, keep its output in $out and
# its status in $rc, show both.
run_apply() {
	rc=0
	printf '+ ublkit apply %s\n' "$*"
	out=$(ublkit apply "$@" 2>&1) || rc=$?
	printf '%s\n[exit %d]\n' "$out" "$rc"
}

run_down() {
	rc=0
	printf '+ ublkit down %s\n' "$*"
	out=$(ublkit down "$@" 2>&1) || rc=$?
	printf '%s\n[exit %d]\n' "$out" "$rc"
}

# Nothing of ublkit's: no dm device, ublk device, swap area, udev cookie
# or run state (not even its directory).
nothing_left() { # WHAT
	udevadm settle
	[[ -z $(dm_names) ]] || fail "dm devices left after $1: $(dmsetup ls)"
	[[ -z $(ublk_ids) ]] || fail "ublk devices left after $1: $(ublk_ids)"
	[[ -z $(swap_areas) ]] || fail "swap left after $1: $(cat /proc/swaps)"
	[[ -z $(dmsetup udevcookies | tail -n +2) ]] || fail "udev cookies left after $1"
	[[ -z $(run_states) ]] || fail "run state left after $1: $(run_states)"
	[[ ! -e /run/ublkit/policy ]] ||
		fail "/run/ublkit/policy left after $1: $(ls -A /run/ublkit/policy)"
}

# Zero the first 4 KiB of DEV: a thin pool's superblock, which wipefs
# does not know, is gone.
clear_metadata() { # DEV
	dd if=/dev/zero of="$1" bs=4096 count=1 oflag=direct conv=notrunc status=none
}

# Blank namespaces for a test: no signature libblkid knows and no thin
# pool's superblock either (an earlier test may have left one; apply
# rightly counts it as data).
blank_namespaces() { # DEV...
	local d
	for d in "$@"; do
		wipefs -a -q "$d"
		clear_metadata "$d"
	done
}

# Whatever happens to the test, take everything down.
policy_cleanup() {
	ublkit down --all >/dev/null 2>&1 || true
	local n
	for n in $(swap_areas | awk '{print $1}'); do swapoff "$n" 2>/dev/null || true; done
	for n in $(ublkit dm list --json 2>/dev/null | jq -r '.[] | select(.kind == "thin") | .name'); do
		ublkit dm remove "$n" >/dev/null 2>&1 || true
	done
	for n in $(ublkit dm list --json 2>/dev/null | jq -r '.[].name'); do
		ublkit dm remove "$n" >/dev/null 2>&1 || true
	done
	ublkit del --all >/dev/null 2>&1 || true
	rm -rf /run/ublkit/policy /etc/ublkit/ublkit.conf /etc/ublkit/ublkit.conf.d
}

# The step line apply printed for namespace DEV (nvme0n1), or fail.
line_of() { # DEV
	grep -E "^${1##*/}: " <<<"$out" || fail "no line for ${1##*/} in the output"
}

[[ -z $(swap_areas) ]] || fail "swap already in use: $(cat /proc/swaps)"

# fio random writes of mixed sizes with crc32c verification.
fio_verify() { # DEVICE SIZE
	need_cmd fio
	run fio --name=verify --filename="$1" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --bs_unaligned=0 --iodepth=16 --numjobs=1 \
		--size="$2" --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randrepeat=0 --output-format=terse --minimal >/tmp/fio.out ||
		{ cat /tmp/fio.out; fail "fio verify failed on $1"; }
	log "fio verify of $2 on $1: ok"
}

# A line of $out matches the extended regex REGEX.
out_has() { # REGEX [WHAT]
	grep -qE -- "$1" <<<"$out" || fail "${2:-output}: no line matches /$1/"
}
