#!/bin/bash
# The main-job demo, shown live by 'tests/vm/run --demo': check the host,
# load the modules, serve a RAM-backed ublk device, use it, tear it down.
# Steps that the CLI does not offer yet are reported and skipped.
. "$(dirname "$0")/lib.sh"

step() { printf '\n==> %s\n' "$*"; }

need_cmd ublkit

step "ublkit version"
ublkit version

step "ublkit doctor"
ublkit doctor || fail "ublkit doctor says ublkit cannot run here"

step "ublkit modprobe"
ublkit modprobe || fail "ublkit modprobe failed"

if ! ublkit add --help >/dev/null 2>&1; then
	step "ublkit add is not implemented yet; the demo stops here"
	exit 0
fi

step "ublkit add --target mem --size 256M --json"
json=$(ublkit add --target mem --size 256M --json) || fail "ublkit add failed"
printf '%s\n' "$json"
id=$(jq -r '.id // .dev_id // empty' <<<"$json")
dev=$(jq -r '.block_device // .bdev // .blockdev // .device // .path // empty' <<<"$json")
[[ -n $id ]] || fail "no device id in the output of ublkit add"
[[ -n $dev ]] || dev=/dev/ublkb$id
deleted=0
cleanup() { ((deleted)) || ublkit del "$id" >/dev/null 2>&1 || true; }
trap cleanup EXIT

wait_for 10 test -b "$dev" || fail "$dev did not appear"
step "lsblk $dev"
lsblk -o NAME,SIZE,TYPE,RO,MIN-IO,PHY-SEC,LOG-SEC "$dev"
assert_eq $((256 << 20)) "$(dev_size "$dev")" "size of $dev"

step "write 16 MiB to $dev and read it back"
dd if=/dev/urandom of=pattern bs=1M count=16 status=none
dd if=pattern of="$dev" bs=1M oflag=direct status=none
dd if="$dev" of=readback bs=1M count=16 iflag=direct status=none
cmp pattern readback || fail "data read back from $dev differs"
echo "16 MiB written and read back intact"

step "ublkit del $id"
ublkit del "$id" || fail "ublkit del $id failed"
deleted=1
wait_for 10 test ! -e "$dev" || fail "$dev still exists after ublkit del"
echo "$dev is gone"
