#!/bin/bash
# ublkit doctor, in a guest whose kernel has ublk: it must say it can run,
# and its --json output must be valid JSON that says the same.
. "$(dirname "$0")/lib.sh"

need_cmd ublkit jq

assert_ok ublkit version
[[ -n $out ]] || fail "ublkit version printed nothing"

assert_ok ublkit doctor
grep -qi 'ublk' <<<"$out" || fail "ublkit doctor does not mention ublk"
grep -Eqi 'ublk.*(ok|available|yes|found|loaded|present)|(ok|available|yes|found|loaded|present).*ublk' <<<"$out" ||
	fail "ublkit doctor does not report ublk as available"

assert_ok ublkit doctor --json
jq -e . >/dev/null <<<"$out" || fail "ublkit doctor --json is not valid JSON"
# Somewhere in the document a key naming ublk must carry a truthy value.
jq -e '[paths(scalars) as $p | select(($p | map(tostring) | join(".")) | test("ublk"; "i"))
	| getpath($p)] | any(. == true or . == "ok" or . == "yes" or . == "available")' >/dev/null <<<"$out" ||
	fail "ublkit doctor --json does not report ublk as available"
log "doctor reports ublk available"
