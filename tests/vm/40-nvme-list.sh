#!/bin/bash
# ublkit nvme list/info against nvme-cli: the same namespaces with the
# same device, model, serial, nsid, size and sector size, and the same
# SMART / health counters as 'nvme smart-log'.
# vm-timeout: 180
. "$(dirname "$0")/lib.sh"

need_cmd ublkit nvme jq

udevadm settle -t 30
wait_for 10 nvme_ns_dev 1 || fail "namespace 1 did not appear"
wait_for 10 nvme_ns_dev 2 || fail "namespace 2 did not appear"

start=$SECONDS
assert_ok ublkit nvme list
log "ublkit nvme list took $((SECONDS - start)) s"
assert_ok ublkit nvme list --json
ours=$out
jq -e 'type == "array"' <<<"$ours" >/dev/null || fail "nvme list --json is no JSON array"
run nvme list -o json
theirs=$(nvme list -o json)

for nsid in 1 2; do
	dev=$(nvme_ns_dev "$nsid")
	o=$(jq -c --arg d "$dev" '.[] | select(.device == $d)' <<<"$ours")
	t=$(jq -c --arg d "$dev" '.Devices[] | select(.DevicePath == $d)' <<<"$theirs")
	[[ -n $o ]] || fail "ublkit nvme list has no $dev"
	[[ -n $t ]] || fail "nvme list has no $dev"
	assert_eq "$(jq -r .NameSpace <<<"$t")" "$(jq -r .nsid <<<"$o")" "$dev nsid"
	assert_eq "$nsid" "$(jq -r .nsid <<<"$o")" "$dev nsid (sysfs)"
	# nvme-cli 2.3 pads model and serial with blanks
	assert_eq "$(jq -r '.ModelNumber | sub(" +$"; "")' <<<"$t")" "$(jq -r .model <<<"$o")" "$dev model"
	assert_eq "$(jq -r '.SerialNumber | sub(" +$"; "")' <<<"$t")" "$(jq -r .serial <<<"$o")" "$dev serial"
	assert_eq "$(jq -r '.Firmware | sub(" +$"; "")' <<<"$t")" "$(jq -r .firmware <<<"$o")" "$dev firmware"
	assert_eq "$(jq -r .PhysicalSize <<<"$t")" "$(jq -r .size <<<"$o")" "$dev size"
	assert_eq "$(jq -r .SectorSize <<<"$t")" "$(jq -r .sector_size <<<"$o")" "$dev sector size"
	assert_eq "$(jq -r .MaximumLBA <<<"$t")" "$(jq -r .lba_count <<<"$o")" "$dev lba count"
	assert_eq "$(dev_size "$dev")" "$(jq -r .size <<<"$o")" "$dev size (block device)"
	assert_eq ublkit0001 "$(jq -r .serial <<<"$o")" "$dev serial (QEMU)"
	assert_eq pcie "$(jq -r .transport <<<"$o")" "$dev transport"
	# native multipath: the head has one path through nvme0
	assert_eq 1 "$(jq -r '.paths | length' <<<"$o")" "$dev paths"
	assert_eq nvme0 "$(jq -r .controller <<<"$o")" "$dev controller"
	# QEMU 7.2 reports no NGUID or EUI-64 here: the identity is NQN + nsid
	assert_match "^nsid\\.$nsid\\..*nqn\\.2024-01\\.org\\.ublkit:subsys0\$" \
		"$(jq -r .identity <<<"$o")" "$dev identity"
	assert_eq nqn-nsid "$(jq -r .identity_kind <<<"$o")" "$dev identity kind"
	# the identifiers Identify reports (nvme-cli prints zeroes for none)
	idns=$(nvme id-ns "$dev" -o json | tr -d '\n' | sed 's/,[[:space:]]*}/}/g')
	descs=$(nvme ns-descs "$dev" -o json 2>/dev/null | tr -d '\n' | sed 's/,[[:space:]]*}/}/g') || true
	jq -e . >/dev/null 2>&1 <<<"$descs" || descs='{}'
	for f in nguid eui64; do
		want=$(jq -r --arg f "$f" '.[$f] | if . == null or test("^0+$") then "null" else . end' <<<"$idns")
		want=$(jq -r --arg f "$f" --arg w "$want" '.[$f] // $w' <<<"$descs")
		assert_eq "$want" "$(jq -r --arg f "$f" '.[$f]' <<<"$o")" "$dev $f"
	done
	assert_eq "$(jq -r '.uuid // "null"' <<<"$descs")" "$(jq -r .uuid <<<"$o")" "$dev uuid"
	log "$dev: $(jq -c '{nsid, size, model, serial, nguid, eui64, uuid, identity, holder}' <<<"$o")"
done
count=$(jq length <<<"$ours")
assert_eq "$(jq '.Devices | length' <<<"$theirs")" "$count" "number of namespaces"

# the identity names the namespace too
dev1=$(nvme_ns_dev 1)
id1=$(jq -r --arg d "$dev1" '.[] | select(.device == $d) | .identity' <<<"$ours")
assert_ok ublkit nvme info "$id1" --json
assert_eq "$dev1" "$(jq -r .namespace.device <<<"$out")" "info by identity"
link=$(find /dev/disk/by-id -name 'nvme-*_ublkit0001_1' -print -quit)
if [[ -n $link ]]; then
	assert_ok ublkit nvme info "$link" --json
	assert_eq "$dev1" "$(jq -r .namespace.device <<<"$out")" "info by $link"
fi

# health: compare with nvme smart-log. nvme-cli 2.3 prints a trailing
# comma before the closing brace and some counters as strings.
assert_ok ublkit nvme info "$dev1"
assert_ok ublkit nvme info "$dev1" --json
info=$out
smart=$(nvme smart-log /dev/nvme0 -o json | tr -d '\n' | sed 's/,[[:space:]]*}/}/')
log "nvme smart-log: $smart"
num() { jq -r "$1 | tonumber" <<<"$2"; }
jq -e '.health != null' <<<"$info" >/dev/null || fail "no health log: $(jq -r .health_error <<<"$info")"
assert_eq "$(num .critical_warning "$smart")" "$(num .health.critical_warning "$info")" "critical warning"
assert_eq "$(num .temperature "$smart")" "$(num .health.temperature_kelvin "$info")" "temperature"
assert_eq "$(num .avail_spare "$smart")" "$(num .health.available_spare "$info")" "available spare"
assert_eq "$(num .spare_thresh "$smart")" "$(num .health.available_spare_threshold "$info")" "spare threshold"
assert_eq "$(num .percent_used "$smart")" "$(num .health.percentage_used "$info")" "percentage used"
assert_eq "$(num .media_errors "$smart")" "$(num .health.media_errors "$info")" "media errors"
assert_eq "$(num .unsafe_shutdowns "$smart")" "$(num .health.unsafe_shutdowns "$info")" "unsafe shutdowns"
assert_eq "$(num .power_on_hours "$smart")" "$(num .health.power_on_hours "$info")" "power-on hours"
assert_eq "$(num .power_cycles "$smart")" "$(num .health.power_cycles "$info")" "power cycles"
assert_eq "$(num .num_err_log_entries "$smart")" "$(num .health.error_log_entries "$info")" "error log entries"
assert_eq true "$(jq -r .health.ok <<<"$info")" "QEMU's drive is healthy"
assert_eq nvme0 "$(jq -r .controller.name <<<"$info")" "controller"
assert_eq live "$(jq -r .controller.state <<<"$info")" "controller state"
assert_match 'nqn\.2024-01\.org\.ublkit:subsys0$' "$(jq -r .controller.subsystem_nqn <<<"$info")" "subsystem NQN"

# usage errors and what the system lacks
assert_fails ublkit nvme info /dev/nonexistent
assert_fails ublkit nvme info
rc=0
ublkit --sysroot /tmp nvme list >/dev/null 2>&1 || rc=$?
assert_eq 3 "$rc" "nvme list with a sysroot is unsupported"
log "ublkit nvme list and info agree with nvme-cli"
