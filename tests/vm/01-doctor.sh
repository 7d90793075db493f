#!/bin/bash
# ublkit doctor in a guest whose kernel has ublk: it exits 0, says ublkit
# can run and that the ublk driver is available, and --json says the same
# in valid JSON.
. "$(dirname "$0")/lib.sh"

need_cmd ublkit jq

assert_ok ublkit version
assert_match '^ublkit [0-9]' "$out" "ublkit version"

assert_ok ublkit doctor
grep -Eq '^ *ok +ublk-driver ' <<<"$out" || fail "ublkit doctor does not report the ublk driver as ok"
grep -q 'ublkit can run' <<<"$out" || fail "ublkit doctor does not say that ublkit can run"

assert_ok ublkit doctor --json
jq -e . >/dev/null <<<"$out" || fail "ublkit doctor --json is not valid JSON"
assert_eq true "$(jq -r .can_run <<<"$out")" "can_run"
assert_eq ok "$(jq -r '.checks[] | select(.name == "ublk-driver") | .status' <<<"$out")" "ublk-driver check"
assert_match '^(ok|warn)$' "$(jq -r .result <<<"$out")" "result"

# With the driver loaded, the control device check passes as well.
ublkit modprobe ublk_drv >/dev/null || fail "ublkit modprobe ublk_drv failed"
assert_ok ublkit doctor --json
assert_eq ok "$(jq -r '.checks[] | select(.name == "ublk-control") | .status' <<<"$out")" "ublk-control check"
log "doctor reports ublk available"
