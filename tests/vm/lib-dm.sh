# Helpers for the VM tests of ublkit dm. Source after lib.sh.
# shellcheck shell=bash

need_cmd ublkit jq dmsetup fio

# shellcheck disable=SC2034
ns1=$(nvme_ns_dev 1) || fail "no NVMe namespace 1"
# shellcheck disable=SC2034
ns2=$(nvme_ns_dev 2) || fail "no NVMe namespace 2"

# Names of every dm device, sorted ("" when none).
dm_names() { dmsetup ls 2>/dev/null | awk 'NF == 2 && $1 != "No" {print $1}' | sort; }
dm_before=$(dm_names)

# No udev cookie (semaphore) is left behind.
cookies_clear() {
	local c
	c=$(dmsetup udevcookies | tail -n +2)
	[[ -z $c ]] || fail "udev cookies left behind: $c"
}

# Nothing of ublkit's left, no cookie: the dm devices are those from before.
nothing_left() { # WHAT
	[[ $(dm_names) == "$dm_before" ]] || fail "devices left after $1: $(dmsetup ls)"
	cookies_clear
}

# Leave none of ublkit's devices behind, whatever happens to the test:
# thin volumes first, then the rest.
dm_cleanup() {
	local n
	for n in $(ublkit dm list --json 2>/dev/null | jq -r '.[] | select(.kind == "thin") | .name'); do
		ublkit dm remove "$n" >/dev/null 2>&1 || true
	done
	for n in $(ublkit dm list --json 2>/dev/null | jq -r '.[].name'); do
		ublkit dm remove "$n" >/dev/null 2>&1 || true
	done
}

# ublkit reopens a thin pool it finds on the metadata device, and refuses
# one of another size: a test that wants a new pool starts from a
# metadata device whose first 4 KiB (the pool's superblock) are zeroes.
no_pool_on() { # DEV
	dd if=/dev/zero of="$1" bs=4096 count=1 oflag=direct conv=notrunc status=none
}

# fio random writes of mixed sizes with crc32c verification.
fio_verify() { # DEVICE SIZE
	run fio --name=verify --filename="$1" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --bs_unaligned=0 --iodepth=16 --numjobs=1 \
		--size="$2" --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randrepeat=0 --output-format=terse --minimal >/tmp/fio.out ||
		{ cat /tmp/fio.out; fail "fio verify failed on $1"; }
	log "fio verify of $2 on $1: ok"
}

# The JSON of 'ublkit dm status NAME --json'.
dm_status() { ublkit dm status --json "$1"; }

# Time of a command, in ms.
now_ms() { date +%s%3N; }
