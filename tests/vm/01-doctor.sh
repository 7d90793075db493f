#!/bin/bash
# ublkit doctor in a guest whose kernel has ublk: it exits 0, says ublkit
# can run and that the ublk driver is available, and whether a server here
# can be made safe to back swap (as root: yes; without CAP_SYS_RESOURCE:
# no, naming the capability, and still exit 0), and --json says the same
# in valid JSON (can_run, can_back_swap, swap_checks).
. "$(dirname "$0")/lib.sh"

need_cmd ublkit jq setpriv

assert_ok ublkit version
assert_match '^ublkit [0-9]' "$out" "ublkit version"

assert_ok ublkit doctor
grep -Eq '^ *ok +ublk-driver ' <<<"$out" || fail "ublkit doctor does not report the ublk driver as ok"
grep -q 'ublkit can run' <<<"$out" || fail "ublkit doctor does not say that ublkit can run"
grep -q '^Swap-safe servers' <<<"$out" || fail "ublkit doctor has no swap-safe section"
grep -Eq '^ *ok +swap-memlock ' <<<"$out" || fail "ublkit doctor does not report swap-memlock as ok"
grep -q '^A server here can be made safe to back swap\.$' <<<"$out" ||
	fail "ublkit doctor does not say that a swap-safe server is possible"

assert_ok ublkit doctor --json
jq -e . >/dev/null <<<"$out" || fail "ublkit doctor --json is not valid JSON"
assert_eq true "$(jq -r .can_run <<<"$out")" "can_run"
assert_eq ok "$(jq -r '.checks[] | select(.name == "ublk-driver") | .status' <<<"$out")" "ublk-driver check"
assert_match '^(ok|warn)$' "$(jq -r .result <<<"$out")" "result"
assert_eq true "$(jq -r .can_back_swap <<<"$out")" "can_back_swap"
for c in swap-memlock swap-io-flusher swap-oom swap-mounts swap-io-uring swap-support; do
	assert_eq ok "$(jq -r --arg c "$c" '.swap_checks[] | select(.name == $c) | .status' <<<"$out")" "$c check"
done

# Without CAP_SYS_RESOURCE (no IO_FLUSHER, no oom_score_adj -1000) ublkit
# still runs, but no server here can back swap: doctor says so, names the
# capability, and exits 0 (the swap checks do not count).
nocap=(setpriv --bounding-set -sys_resource --inh-caps -sys_resource --)
assert_ok "${nocap[@]}" ublkit doctor
grep -q 'ublkit can run' <<<"$out" || fail "without CAP_SYS_RESOURCE doctor does not say that ublkit can run"
grep -q '^A server here cannot be made safe to back swap' <<<"$out" ||
	fail "without CAP_SYS_RESOURCE doctor does not say that no swap-safe server is possible"
grep -Eq '^ *FAIL +swap-io-flusher .*CAP_SYS_RESOURCE' <<<"$out" ||
	fail "without CAP_SYS_RESOURCE doctor does not fail swap-io-flusher naming the capability"
assert_ok "${nocap[@]}" ublkit doctor --json
assert_eq true "$(jq -r .can_run <<<"$out")" "can_run without CAP_SYS_RESOURCE"
assert_eq false "$(jq -r .can_back_swap <<<"$out")" "can_back_swap without CAP_SYS_RESOURCE"
assert_eq fail "$(jq -r '.swap_checks[] | select(.name == "swap-oom") | .status' <<<"$out")" \
	"swap-oom check without CAP_SYS_RESOURCE"
assert_match "CAP_SYS_RESOURCE" "$(jq -r '.swap_checks[] | select(.name == "swap-oom") | .fix' <<<"$out")" \
	"the fix of swap-oom"

# With the driver loaded, the control device check passes as well.
ublkit modprobe ublk_drv >/dev/null || fail "ublkit modprobe ublk_drv failed"
assert_ok ublkit doctor --json
assert_eq ok "$(jq -r '.checks[] | select(.name == "ublk-control") | .status' <<<"$out")" "ublk-control check"
log "doctor reports ublk available and says whether a swap-safe server is possible"
