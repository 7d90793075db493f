#!/bin/sh
# The ublkit tool's command line: help, version, usage errors, doctor on
# fake sysroots and its exit codes.
set -u
: "${UBLKIT:?run through make check}" "${top_srcdir:?}"
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; fails=$((fails + 1)); }
expect() { # expect CODE DESCRIPTION CMD...
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$desc"; else
		bad "$desc (exit $got, want $want)"
		sed 's/^/# /' "$tmp/out" "$tmp/err"
	fi
}
contains() { # contains FILE TEXT DESCRIPTION
	if grep -q -- "$2" "$tmp/$1"; then ok "$3"; else bad "$3"; sed 's/^/# /' "$tmp/$1"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

root=$tmp/root
mkdir -p "$root/proc/sys/kernel" "$root/proc/self" "$root/lib/modules/6.12.0-t" \
	"$root/sys/module" "$root/dev" "$root/etc/modprobe.d"
echo 6.12.0-t >"$root/proc/sys/kernel/osrelease"
printf 'CapEff:\t000001ffffffffff\n' >"$root/proc/self/status"
printf 'Filename Type Size Used Priority\n' >"$root/proc/swaps"
printf 'kernel/drivers/block/ublk_drv.ko.xz:\nkernel/drivers/md/dm-mod.ko.xz:\n' \
	>"$root/lib/modules/6.12.0-t/modules.dep"
: >"$root/lib/modules/6.12.0-t/modules.builtin"

expect 0 "--help" "$UBLKIT" --help
contains out "doctor" "--help lists doctor"
expect 0 "--version" "$UBLKIT" --version
contains out "ublkit [0-9]" "--version prints a version"
expect 0 "version --json" "$UBLKIT" version --json
contains out '"library"' "version --json has the library version"
expect 2 "no command is a usage error" "$UBLKIT"
expect 2 "unknown command is a usage error" "$UBLKIT" frobnicate
contains err "unknown command 'frobnicate'" "unknown command is named"
expect 2 "unknown option is a usage error" "$UBLKIT" doctor --frob
expect 0 "doctor --help" "$UBLKIT" doctor --help
contains out "Exit status" "doctor --help documents the exit status"

expect 0 "doctor passes with a loadable ublk_drv" "$UBLKIT" --sysroot "$root" doctor
contains out "ublk_drv is available" "doctor reports the loadable module"
expect 0 "doctor --json" "$UBLKIT" --sysroot "$root" doctor --json
contains out '"can_run": true' "doctor --json says it can run"
if command -v python3 >/dev/null; then
	if python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["checks"]) >= 9' <"$tmp/out"
	then ok "doctor --json is valid JSON with every check"; else bad "doctor --json is valid JSON"; fi
fi

printf 'kernel/drivers/md/dm-mod.ko.xz:\n' >"$root/lib/modules/6.12.0-t/modules.dep"
expect 1 "doctor fails without ublk" "$UBLKIT" --sysroot "$root" doctor
contains out "no ublk driver" "doctor says the kernel lacks ublk"
contains out "fix:" "doctor says how to fix it"

expect 3 "modprobe of a missing module exits 3" "$UBLKIT" --sysroot "$root" modprobe ublk_drv
contains err "no such module" "modprobe explains a missing module"
echo "blacklist dm_mod" >"$root/etc/modprobe.d/x.conf"
expect 1 "modprobe of a blacklisted module fails" "$UBLKIT" --sysroot "$root" modprobe dm_mod
contains err "blacklist" "modprobe explains the blacklist"
expect 2 "--sysroot to a missing directory" "$UBLKIT" --sysroot "$tmp/nope" doctor
expect 2 "UBLKIT_SYSROOT to a missing directory" env UBLKIT_SYSROOT="$tmp/nope" "$UBLKIT" doctor
contains err "UBLKIT_SYSROOT=$tmp/nope" "an unusable UBLKIT_SYSROOT is named"
expect 2 "list takes no arguments" "$UBLKIT" list extra-arg
expect 2 "info needs an id" "$UBLKIT" info
expect 2 "add needs --target" "$UBLKIT" add --size 1G
expect 2 "add: an unknown target" "$UBLKIT" add --target nope --size 1G
contains err "unknown target 'nope'" "the unknown target is named"
expect 2 "add: null needs --size" "$UBLKIT" add --target null
contains err "needs --size" "add says --size is missing"
expect 2 "add: --recovery does not fit mem" "$UBLKIT" add --target mem --size 1G --recovery
expect 2 "add: file needs --file" "$UBLKIT" add --target file

expect 0 "nvme --help" "$UBLKIT" nvme --help
contains out "nvme info DEVICE" "nvme --help shows info"
expect 2 "nvme without a command is a usage error" "$UBLKIT" nvme
expect 2 "nvme info without a device is a usage error" "$UBLKIT" nvme info
expect 2 "unknown nvme command" "$UBLKIT" nvme frob
expect 3 "nvme list cannot look at a sysroot" "$UBLKIT" --sysroot "$root" nvme list
contains err "cannot look at a --sysroot" "nvme list says why"
expect 3 "nvme info cannot look at a sysroot" "$UBLKIT" --sysroot "$root" nvme info /dev/nvme0n1 --json
expect 0 "dm --help" "$UBLKIT" dm --help
for kind in linear striped crypt thin-pool thin cache; do
	contains out "dm create $kind " "dm --help has an example of $kind"
done
expect 2 "dm needs a command" "$UBLKIT" dm
expect 2 "dm: an unknown command" "$UBLKIT" dm frob
expect 2 "dm create needs a kind" "$UBLKIT" dm create
expect 2 "dm create: an unknown kind" "$UBLKIT" dm create mirror m0
contains err "unknown kind 'mirror'" "the unknown kind is named"
expect 2 "dm create linear needs --device" "$UBLKIT" dm create linear l0
contains err "needs --device" "the missing option is named"
expect 2 "dm create linear needs a name" "$UBLKIT" dm create linear --device 259:1
expect 2 "dm create striped needs two devices" "$UBLKIT" dm create striped s0 --device 259:1
expect 2 "dm create thin needs --size" "$UBLKIT" dm create thin t0 --pool p0
expect 2 "dm create linear takes no --data" "$UBLKIT" dm create linear l0 --device 259:1 --data 259:2
expect 2 "dm create: a size that is not whole sectors" "$UBLKIT" dm create linear l0 --device 259:1 --length 1000
expect 2 "dm create cache: an unknown mode" "$UBLKIT" dm create cache c0 --metadata 259:1 --fast 259:2 --slow 259:3 --mode fast
expect 2 "dm remove needs a name" "$UBLKIT" dm remove
expect 2 "dm status needs a name" "$UBLKIT" dm status
expect 3 "dm list with a sysroot needs the kernel" "$UBLKIT" --sysroot "$root" dm list
mkdir -p "$root/sys/dev/block/259:1" && echo 2097152 >"$root/sys/dev/block/259:1/size"
expect 3 "dm create with a sysroot needs the kernel" "$UBLKIT" --sysroot "$root" dm create linear l0 --device 259:1

# ---- usage errors: exit 2 with the synopsis, before the system is touched --
# (no driver, no device-mapper here: a bad argument must still be named)
usage_error() { # usage_error DESCRIPTION ARGS...
	desc=$1
	shift
	expect 2 "$desc" "$UBLKIT" "$@"
	if grep -q '^Usage:' "$tmp/err" && grep -q "^Try 'ublkit" "$tmp/err"; then
		ok "$desc: the synopsis is shown"
	else
		bad "$desc: the synopsis is shown"
		sed 's/^/# /' "$tmp/err"
	fi
}
for cmd in "version" "doctor" "list" "orphans" "cleanup" "swap status" "nvme list" \
	"dm list" "dm watch"; do
	# shellcheck disable=SC2086
	usage_error "$cmd: a stray argument" $cmd stray
	# shellcheck disable=SC2086
	usage_error "$cmd: an unknown option" $cmd --frobnicate
done
for cmd in "info" "stats" "recover" "swap off"; do
	# shellcheck disable=SC2086
	usage_error "$cmd: no id" $cmd
	# shellcheck disable=SC2086
	usage_error "$cmd: two ids" $cmd 1 2
	# shellcheck disable=SC2086
	usage_error "$cmd: an unknown option" $cmd 1 --frobnicate
	for id in -1 +1 " 1" "1 " 0x10 1048576 18446744073709551616 ublkb ublkb1x ../1 ""; do
		# shellcheck disable=SC2086
		usage_error "$cmd: id '$id'" $cmd "$id"
	done
done
contains err "not a device id" "a bad id is named as such"
usage_error "del: no id and no --all" del
usage_error "del: ids and --all" del 1 --all
usage_error "del: a bad id among good ones" del 1 x 2
usage_error "del: --timeout out of range" del 1 --timeout 3601
usage_error "del: --timeout without a value" del 1 --timeout
usage_error "del: --timeout with a sign" del 1 --timeout -1
usage_error "recover: --timeout 0" recover --wait --timeout 0 1
usage_error "recover: --timeout without --wait" recover --timeout 5 1
usage_error "recover: --timeout beyond an int of ms" recover --wait --timeout 2147484 1
usage_error "swap: no command" swap
usage_error "swap: an unknown command" swap frob
usage_error "nvme info: two devices" nvme info /dev/nvme0n1 /dev/nvme0n2
usage_error "nvme info: an empty device" nvme info ""
usage_error "modprobe: an unknown option" modprobe --frob
usage_error "an unknown option after the command" list --frob

# modprobe: a name is checked before anything is looked up or loaded
usage_error "modprobe ../../etc/passwd" --sysroot "$root" modprobe ../../etc/passwd
contains err "is not a module name" "modprobe says a path is no module name"
contains err "letters, digits" "modprobe says what a module name is"
if grep -q "built into" "$tmp/out"; then bad "a path is no built-in module"; else ok "a path is no built-in module"; fi
usage_error "modprobe ''" --sysroot "$root" modprobe ''
contains err "is not a module name" "modprobe says '' is no module name"
usage_error "modprobe: a bad name after a good one loads nothing" --sysroot "$root" modprobe dm_mod a/b
if [ -s "$tmp/out" ]; then bad "nothing was reported loaded"; else ok "nothing was reported loaded"; fi
usage_error "modprobe: a name too long" modprobe "$(printf '%056d' 0)"
usage_error "modprobe: a control character" modprobe "$(printf 'a\tb')"

# add: every argument is checked before the driver is looked for
for args in "--queues 65" "--queues 0" "--queues 70000" "--depth 0" "--depth 4097" \
	"--max-io 1" "--max-io 6000" "--max-io 2M" "--block-size 0" "--block-size 1000" \
	"--block-size 8K" "--physical-block-size 256" "--id 1048576" "--id -1" \
	"--size 1.5" "--size 1000" "--size 16E" "--size 1Q" "--size -1G" "--size ''"; do
	# shellcheck disable=SC2086
	eval "usage_error \"add $args\" add --target null --size 1G $args"
done
usage_error "add: --queues 65 names the queues" add --target mem --size 1G --queues 65
contains err "queues 65: out of range; give 1 to 64" "add says what the queues may be"
usage_error "add: --size without a value" add --target null --size
usage_error "add: a stray argument" add --target null --size 1G stray
usage_error "add: --file with a newline" add --target file --file "$(printf '/tmp/a\nid=3')"
contains err "control characters" "add says why the path is refused"
expect 3 "add: good arguments meet the missing driver" "$UBLKIT" --sysroot "$root" add --target null --size 1.5G
contains err "this kernel has no ublk driver" "add says the kernel lacks ublk"
contains err "ublkit doctor" "add says where to look next"
expect 3 "add: sizes with KiB and KB" "$UBLKIT" --sysroot "$root" add --target null --size 1536KiB --max-io 64KiB --block-size 4096

# swap on: the label and the parameters before anything is looked at
usage_error "swap on: no --file" swap on
usage_error "swap on: a label with '/'" swap on --file /dev/null --label a/b
contains err "swap label" "swap on names the label"
usage_error "swap on: a label of 17 bytes" swap on --file /dev/null --label 0123456789abcdefg
usage_error "swap on: an empty label" swap on --file /dev/null --label ''
usage_error "swap on: --label .." swap on --file /dev/null --label ..
usage_error "swap on: --priority 32768" swap on --file /dev/null --priority 32768
usage_error "swap on: --priority -1" swap on --file /dev/null --priority -1
usage_error "swap on: --queues 65" swap on --file /dev/null --queues 65
usage_error "swap on: --depth 0" swap on --file /dev/null --depth 0
usage_error "swap on: --discard=sometimes" swap on --file /dev/null --discard=sometimes
usage_error "swap on: --target mem" swap on --target mem
contains err "target mem cannot back swap" "swap on gives the library's reason for mem"
usage_error "swap on: --target null with a size and a file" swap on --target null --size 1G --file /dev/null
contains err "target null cannot back swap" "swap on gives the library's reason for null"
usage_error "swap on: an unknown target" swap on --target nope --file /dev/null
contains err "unknown target 'nope'" "swap on names the unknown target"
usage_error "swap on: --target file without --file" swap on --target file --size 1G
for size in 1.5 1000 16E 1Q -1G "''"; do
	eval "usage_error \"swap on: --size $size\" swap on --file \"\$tmp/new.img\" --size $size"
done
if [ -e "$tmp/new.img" ]; then bad "a usage error creates no swap file"; else ok "a usage error creates no swap file"; fi
# good arguments: the missing driver is named (not a silent exit 3), and nothing is created
expect 3 "swap on: good arguments meet the missing driver" "$UBLKIT" --sysroot "$root" swap on --file /dev/null
contains err "no ublk driver" "swap on says the kernel lacks ublk"
expect 3 "swap on --size: the missing driver" "$UBLKIT" --sysroot "$root" swap on --file "$tmp/new.img" --size 1M
contains err "no ublk driver" "swap on --size says the kernel lacks ublk"
if [ -e "$tmp/new.img" ]; then bad "no swap file without a driver"; else ok "no swap file without a driver"; fi
expect 0 "swap on --help" "$UBLKIT" swap on --help
contains out "--target T" "swap --help documents --target"
contains out "--size SIZE" "swap --help documents --size"

# dm: names as the kernel (and ublkit) take them
for name in -x ../x a/b . .. control ""; do
	usage_error "dm create linear '$name'" dm create linear "$name" --device 259:1
done
contains err "device-mapper name" "dm create says what a name may be"
usage_error "dm create: a name of 97 bytes" dm create linear "$(printf '%097d' 0)" --device 259:1
usage_error "dm create: two names" dm create linear a b --device 259:1
usage_error "dm create thin: a bad pool name" dm create thin t0 --pool ../p --size 1G
usage_error "dm create thin: --id out of range" dm create thin t0 --pool p0 --size 1G --id 16777216
usage_error "dm create: --length 1.5" dm create linear l0 --device 259:1 --length 1.5
usage_error "dm create: --offset without a value" dm create linear l0 --device 259:1 --offset
usage_error "dm create: an empty --device" dm create linear l0 --device ''
usage_error "dm create: --low-water on linear" dm create linear l0 --device 259:1 --low-water 1G
usage_error "dm create: an unknown option" dm create linear l0 --device 259:1 --frob
usage_error "dm reload: a name with '/'" dm reload linear a/b --device 259:1
usage_error "dm remove: one bad name among good ones" dm remove a ../b c
usage_error "dm status: two names" dm status a b
usage_error "dm status: a name with '/'" dm status a/b
usage_error "dm suspend: no name" dm suspend
usage_error "dm resume: '..'" dm resume ..
usage_error "dm watch: --count 0" dm watch --count 0
usage_error "dm watch: --timeout x" dm watch --timeout x
expect 3 "dm create with a fractional size meets the missing kernel" "$UBLKIT" --sysroot "$root" dm create linear l1 --device 259:1 --length 0.5M

# apply, down, status, check-config: usage errors
usage_error "apply: two namespaces" apply nvme0n1 nvme0n2
usage_error "apply: an unknown option" apply --frob
usage_error "apply: --config without a value" apply --config
usage_error "down: no name and no --all" down
usage_error "down: a name and --all" down swap --all
usage_error "down: two names" down a b
usage_error "down: a name that is no instance name" down ../x
contains err "is no instance name" "down says what an instance name is"
usage_error "status: a stray argument" status x
usage_error "apply: an empty --config" apply --config ''
usage_error "check-config: an empty PATH" check-config ''
usage_error "apply: an empty namespace" apply ''
usage_error "status: an empty --config" status --config ''

# apply, status: the kernel command line switch comes first; status and
# its policy
proot=$tmp/proot
mkdir -p "$proot/proc" "$proot/etc" "$proot/run" "$proot/sys" "$proot/dev"
printf '[Rule x]\nCreate=frob\n' >"$tmp/broken.conf"
printf 'root=/dev/vda ublkit=0\n' >"$proot/proc/cmdline"
expect 0 "apply with ublkit=0 and a broken policy" "$UBLKIT" --sysroot "$proot" apply --config "$tmp/broken.conf"
contains out "switched off on the kernel command line" "apply says it is switched off"
expect 0 "apply --json with ublkit=0" "$UBLKIT" --sysroot "$proot" apply --json --config "$tmp/nope.conf"
if [ "$(tr -d ' \n' <"$tmp/out")" = "[]" ]; then ok "apply --json switched off prints an empty list"
else bad "apply --json switched off prints an empty list"; sed 's/^/# /' "$tmp/out"; fi
contains err "switched off" "apply --json says why on stderr"
expect 0 "status with ublkit=0" "$UBLKIT" --sysroot "$proot" status
contains out "^Switch: off on the kernel command line" "status shows the switch"
printf 'root=/dev/vda rd.ublkit=0\n' >"$proot/proc/cmdline"
expect 0 "status with rd.ublkit=0 outside the initramfs" "$UBLKIT" --sysroot "$proot" status --json
contains out '"disabled_by_cmdline": false' "rd.ublkit=0 counts only in the initramfs"
echo 'NAME=initramfs' >"$proot/etc/initrd-release"
expect 0 "status with rd.ublkit=0 in the initramfs" "$UBLKIT" --sysroot "$proot" status --json
contains out '"disabled_by_cmdline": true' "status honours rd.ublkit=0 in the initramfs"
expect 0 "apply with rd.ublkit=0 in the initramfs" "$UBLKIT" --sysroot "$proot" apply --config "$tmp/broken.conf"
contains out "switched off" "apply honours rd.ublkit=0 in the initramfs"
rm "$proot/etc/initrd-release"
expect 1 "apply with a broken policy when switched on" "$UBLKIT" --sysroot "$proot" apply --config "$tmp/broken.conf"
expect 1 "apply --json with a broken policy" "$UBLKIT" --sysroot "$proot" apply --json --config "$tmp/broken.conf"
if [ "$(tr -d ' \n' <"$tmp/out")" = "[]" ]; then ok "apply --json keeps stdout JSON on failure"
else bad "apply --json keeps stdout JSON on failure"; sed 's/^/# /' "$tmp/out"; fi
expect 1 "status --config of a missing file" "$UBLKIT" --sysroot "$proot" status --config "$tmp/nope.conf"
contains err "cannot read the policy" "status says the policy cannot be read"
expect 0 "status --help" "$UBLKIT" status --help
contains out "the policy cannot be read" "status --help documents exit 1"
expect 0 "apply --help" "$UBLKIT" apply --help
contains out "4 partial: something was refused" "apply --help documents exit 4"
usage_error "check-config: two paths" check-config a b

# check-config: the system's files under the sysroot, a file, stdin
expect 0 "--help lists check-config" "$UBLKIT" --help
contains out "check-config" "--help names check-config"
expect 0 "check-config --help" "$UBLKIT" check-config --help
contains out "Exit status" "check-config --help documents the exit status"
contains out "ublkit.conf(5)" "check-config --help points at ublkit.conf(5)"
expect 0 "check-config without any file" "$UBLKIT" --sysroot "$root" check-config
contains out "^0 files, 0 rules, no problems$" "no files is an empty policy"
mkdir -p "$root/etc/ublkit/ublkit.conf.d" "$root/usr/lib/ublkit"
printf '[Global]\nQueues=2\n\n[Rule swap]\nMatchMinSize=8G\nCreate=ublk-swap\n' \
	>"$root/etc/ublkit/ublkit.conf"
printf '[Rule vendor]\nCreate=frob\n' >"$root/usr/lib/ublkit/ublkit.conf"
printf '[Rule swap]\nPriority=10\n[Rule keep]\nMatchNSID=1\nCreate=ignore\n' \
	>"$root/etc/ublkit/ublkit.conf.d/10-keep.conf"
expect 0 "check-config of a good policy" "$UBLKIT" --sysroot "$root" check-config
contains out "^2 files, 2 rules, no problems$" "check-config counts files and rules"
expect 0 "check-config --json of a good policy" "$UBLKIT" --sysroot "$root" check-config --json
contains out '"ok": true' "check-config --json says ok"
contains out '"/etc/ublkit/ublkit.conf.d/10-keep.conf"' "check-config --json lists the files"
printf '[Rule swap]\nPriority=100000\nQueus=2\n[Rule Bad Name]\n' \
	>"$root/etc/ublkit/ublkit.conf.d/20-bad.conf"
expect 1 "check-config finds problems" "$UBLKIT" --sysroot "$root" check-config
contains out "^/etc/ublkit/ublkit.conf.d/20-bad.conf:2: \\[Rule swap\\] Priority: 100000 is out of range; expected -1..32767$" \
	"a bad value: FILE:LINE: [SECTION] KEY: message"
contains out "^/etc/ublkit/ublkit.conf.d/20-bad.conf:3: \\[Rule swap\\] Queus: unknown key" \
	"an unknown key with its line"
contains out "^/etc/ublkit/ublkit.conf.d/20-bad.conf:4: 'Bad Name' is no rule name" \
	"a problem without section or key"
if [ "$(wc -l <"$tmp/out")" -eq 3 ]; then ok "one line per problem"; else bad "one line per problem"; fi
contains err "3 problems" "check-config counts the problems"
expect 1 "check-config --json with problems" "$UBLKIT" --sysroot "$root" check-config --json
contains out '"ok": false' "check-config --json says not ok"
contains out '"line": 3' "check-config --json has lines"
if command -v python3 >/dev/null; then
	if python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["problems"]) == 3 and d["problems"][1]["key"] == "Queus"' <"$tmp/out"
	then ok "check-config --json is valid JSON"; else bad "check-config --json is valid JSON"; fi
fi
rm "$root/etc/ublkit/ublkit.conf.d/20-bad.conf"
ln -sf /dev/null "$root/etc/ublkit/ublkit.conf"
expect 1 "a masked main file leaves /usr/lib's out" "$UBLKIT" --sysroot "$root" check-config
contains out "10-keep.conf:1: \\[Rule swap\\] Create: a rule needs Create=" "the drop-in's rule lost its Create="
printf '[Rule a]\nMatchNSID=0\nCreate=ublk\n' >"$tmp/my.conf"
mkdir -p "$tmp/my.conf.d"
printf '[Rule a]\nMatchNSID=2\n' >"$tmp/my.conf.d/override.conf"
expect 0 "check-config PATH reads PATH.d/ drop-ins" "$UBLKIT" check-config "$tmp/my.conf"
contains out "^2 files, 1 rule, no problems$" "the drop-in fixed the value"
rm "$tmp/my.conf.d/override.conf"
expect 1 "check-config PATH with a problem" "$UBLKIT" check-config "$tmp/my.conf"
contains out "my.conf:2: \\[Rule a\\] MatchNSID: namespace id 0 can never match" "the problem names PATH"
expect 1 "check-config of a missing file" "$UBLKIT" check-config "$tmp/nope.conf"
contains err "No such file" "a missing file is named"
expect 2 "check-config takes one PATH" "$UBLKIT" check-config a b
expect 2 "check-config: an unknown option" "$UBLKIT" check-config --frob
printf '[Global]\nHardening=sometimes\n' >"$tmp/stdin.conf"
# shellcheck disable=SC2016 # the inner shell expands them
expect 1 "check-config - reads stdin" sh -c '"$1" check-config - <"$2"' sh "$UBLKIT" "$tmp/stdin.conf"
contains out "^-:2: \\[Global\\] Hardening: 'sometimes' is not a hardening mode" "stdin is named -"
# rules claimed twice, globs that can never match, a stripe that cannot fill
printf '[Rule all]\nCreate=ublk-swap\n\n[Rule keep]\nMatchNSID=1\nCreate=ignore\n\n[Rule c]\nMatchModel=QEMU*\nCreate=ublk\n' \
	>"$tmp/twice.conf"
expect 1 "check-config finds rules that claim the same namespaces" "$UBLKIT" check-config "$tmp/twice.conf"
contains out "twice.conf:4: \\[Rule keep\\] every namespace this rule matches is matched by \\[Rule all\\] ($tmp/twice.conf:1) too" \
	"an exception after the catch-all: its line and the other rule's"
contains out "twice.conf:8: \\[Rule c\\] every namespace this rule matches is matched by \\[Rule all\\]" \
	"a narrower rule after the catch-all"
expect 1 "check-config --json of rules claimed twice" "$UBLKIT" check-config --json "$tmp/twice.conf"
if command -v python3 >/dev/null; then
	if python3 -c 'import json,sys; d=json.load(sys.stdin); assert [p["line"] for p in d["problems"]] == [4, 8]' <"$tmp/out"
	then ok "check-config --json has both collisions with their lines"; else bad "check-config --json has both collisions with their lines"; fi
fi
printf '[Rule keep]\nMatchNSID=1\nCreate=ignore\n\n[Rule all]\nCreate=ublk-swap\n' >"$tmp/except.conf"
expect 0 "an exception before the catch-all is fine" "$UBLKIT" check-config "$tmp/except.conf"
printf '[Rule a]\nMatchController=sda\nMatchSerial=S64ANS0T123456789ABCD\nMatchIdentity=eui.0025385b11223344\nCreate=ublk\n' \
	>"$tmp/never.conf"
expect 1 "check-config finds globs that can never match" "$UBLKIT" check-config "$tmp/never.conf"
contains out "never.conf:2: \\[Rule a\\] MatchController: 'sda' can never match: controllers are named nvme" \
	"a controller glob of the wrong shape"
contains out "never.conf:3: \\[Rule a\\] MatchSerial: .* has at most 20" "a serial longer than the field"
contains out "never.conf:4: \\[Rule a\\] MatchIdentity: 'eui.0025385b11223344' can never match" \
	"an identity of the wrong shape"
printf '[Rule st]\nMatchIdentity=eui64.0025385b11223344\nCreate=dm-striped\nMembers=2\n' >"$tmp/stripe.conf"
expect 1 "check-config finds a stripe that can never fill" "$UBLKIT" check-config --json "$tmp/stripe.conf"
if command -v python3 >/dev/null; then
	if python3 -c 'import json,sys; d=json.load(sys.stdin); assert [(p["line"], p["key"]) for p in d["problems"]] == [(4, "Members")]' <"$tmp/out"
	then ok "the stripe's problem is at Members="; else bad "the stripe's problem is at Members="; fi
fi
contains out 'matches at most 1 namespace' "the stripe's problem says why"
for f in "$top_srcdir"/examples/*.conf; do
	expect 0 "example $(basename "$f") passes check-config" "$UBLKIT" check-config "$f"
done

# ---- the system out of reach: a message, never a silent exit ----------------
expect 3 "info under a sysroot" "$UBLKIT" --sysroot "$root" info 1
contains err "sysroot" "info says the sysroot is the reason"
expect 3 "del under a sysroot" "$UBLKIT" --sysroot "$root" del 1
contains err "sysroot" "del says the sysroot is the reason"
expect 3 "recover under a sysroot" "$UBLKIT" --sysroot "$root" recover 1
contains err "sysroot" "recover says the sysroot is the reason"
expect 3 "dm watch under a sysroot" "$UBLKIT" --sysroot "$root" dm watch --count 1
contains err "sysroot" "dm watch says the sysroot is the reason"
expect 3 "dm status under a sysroot" "$UBLKIT" --sysroot "$root" dm status x
contains err "sysroot" "dm status says the sysroot is the reason"

# ---- dm create: options that do not fit the kind, the builders' ranges -------
for args in "linear l0 --device 259:1 --chunk 64K" "linear l0 --device 259:1 --id 3" \
	"linear l0 --device 259:1 --error-if-no-space" "linear l0 --device 259:1 --block-size 64K" \
	"crypt c0 --device 259:1 --mode writeback" "striped s0 --device 259:1 --device 259:2 --offset 1M" \
	"thin t0 --pool p0 --size 1G --device 259:1" "cache c0 --metadata 259:1 --fast 259:2 --slow 259:3 --data 259:4" \
	"thin-pool p0 --metadata 259:1 --data 259:2 --mode writeback" \
	"linear l0 --device 259:1 --metadata-offset 1M"; do
	# shellcheck disable=SC2086
	usage_error "dm create $args" dm create $args
	contains err "does not apply; it is for" "dm create $args: the option's kinds are named"
done
usage_error "dm create linear: --chunk" dm create linear l0 --device 259:1 --chunk 64K
contains err "dm create linear: --chunk does not apply; it is for striped$" "--chunk is for striped"
usage_error "dm create linear: --block-size" dm create linear l0 --device 259:1 --block-size 64K
contains err "it is for thin-pool and cache$" "--block-size is for thin-pool and cache"
usage_error "dm create linear: two devices" dm create linear l0 --device 259:1 --device 259:2
contains err "given twice" "a second --device is refused"
usage_error "dm create thin-pool: two --metadata" dm create thin-pool p0 --metadata 259:1 --metadata 259:3 --data 259:2
usage_error "dm reload: --read-only" dm reload linear l0 --device 259:1 --read-only
contains err "is for create" "--read-only is for create"
for chunk in 12K 0 2K 1000K 1.5M; do
	usage_error "dm create striped --chunk $chunk" dm create striped s0 --device 259:1 --device 259:2 --chunk "$chunk"
	contains err "power of two of at least 4K" "--chunk $chunk: the rule is said"
done
for bs in 1K 0 96K 2G; do
	usage_error "dm create thin-pool --block-size $bs" dm create thin-pool p0 --metadata 259:1 --data 259:2 --block-size "$bs"
	contains err "multiple of 64K from 64K to 1G" "thin-pool --block-size $bs: the rule is said"
done
for bs in 16K 48K 2G; do
	usage_error "dm create cache --block-size $bs" dm create cache c0 --metadata 259:1 --fast 259:2 --slow 259:3 --block-size "$bs"
	contains err "multiple of 32K from 32K to 1G" "cache --block-size $bs: the rule is said"
done
usage_error "dm create: a --device with an escape" dm create linear l0 --device "$(printf '/dev/\033[2J')"
contains err "control characters" "a device path with control characters is refused"
for d in 259:2 259:3; do
	mkdir -p "$root/sys/dev/block/$d" && echo 2097152 >"$root/sys/dev/block/$d/size"
done
expect 3 "dm create striped with a good chunk meets the missing kernel" "$UBLKIT" --sysroot "$root" dm create striped s1 --device 259:1 --device 259:2 --chunk 4K
contains err "sysroot" "dm create says the sysroot is the reason"
expect 3 "dm create cache with a 32K block meets the missing kernel" "$UBLKIT" --sysroot "$root" dm create cache c1 --metadata 259:1 --fast 259:2 --slow 259:3 --block-size 32K

# ---- messages state the real rule ------------------------------------------
usage_error "add --block-size 0" add --target null --size 1G --block-size 0
contains err "block-size 0: out of range; give a power of two from 512 to 4096" "--block-size 0: the rule"
usage_error "add --physical-block-size 0" add --target null --size 1G --physical-block-size 0
contains err "a power of two from the block size to 64K" "--physical-block-size 0: the rule"
usage_error "add --max-io 0" add --target null --size 1G --max-io 0
contains err "max-io 0: out of range; give a multiple of 4K from 4K to 1M" "--max-io 0: the rule"
usage_error "add --max-io 8G" add --target null --size 1G --max-io 8G
contains err "multiple of 4K from 4K to 1M" "--max-io 8G: the rule"
usage_error "add --size 16E" add --target null --size 16E
contains err "16.0 EiB" "the largest size is in EiB"
usage_error "dm create --offset 16E" dm create linear l0 --device 259:1 --offset 16E
contains err "16.0 EiB" "dm: the largest size is in EiB"

# ---- what a user typed is shown printable and short ------------------------
esc=$(printf '\033')
printable() { # printable DESCRIPTION: stderr holds no escape and no long line
	if grep -q "$esc" "$tmp/err" || [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$tmp/err")" -gt 300 ]
	then bad "$1"; sed 's/^/# /' "$tmp/err" | cat -v; else ok "$1"; fi
}
long=$(printf '%05000d' 0 | tr 0 x)
usage_error "info: an id with an escape" info "$(printf '\033[31mX')"
printable "info shows the id printable"
contains err "?\[31mX" "info shows the id"
usage_error "add: a target with an escape" add --target "$(printf '\033[2J')" --size 1G
printable "add shows the target printable"
usage_error "add: a target with a C1 CSI" add --target "$(printf 'a\302\2332J')" --size 1G
if grep -q "$(printf '\302\233')" "$tmp/err"; then bad "a C1 control is not shown"; else ok "a C1 control is not shown"; fi
usage_error "add: a target of 5000 bytes" add --target "$long" --size 1G
printable "add cuts a long target"
contains err "x\.\.\." "a cut name says so"
expect 1 "nvme info: a device with an escape" "$UBLKIT" nvme info "$(printf 'nvme0n1\033[2J')"
printable "nvme info shows the device printable"
expect 1 "nvme info: a device of 5000 bytes" "$UBLKIT" nvme info "$long"
printable "nvme info cuts a long device"
usage_error "an unknown command with an escape" "$(printf '\033[2Jx')"
printable "an unknown command is shown printable"
usage_error "an unknown dm command with an escape" dm "$(printf '\033[2Jx')"
printable "an unknown dm command is shown printable"
usage_error "an unknown dm kind with an escape" dm create "$(printf '\033[2Jx')" n
printable "an unknown dm kind is shown printable"
usage_error "dm create cache: a --mode with an escape" dm create cache c0 --metadata 259:1 --fast 259:2 --slow 259:3 --mode "$(printf '\033[2J')"
printable "dm shows the --mode printable"
usage_error "a stray argument with an escape" list "$(printf '\033[2Jx')"
printable "a stray argument is shown printable"
expect 1 "check-config: a path with a newline" "$UBLKIT" check-config "$(printf '%s/a\nb' "$tmp")"
contains err "a?b" "check-config shows the path on one line"
if [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok "one line for a path with a newline"; else bad "one line for a path with a newline"; fi
printf '[Rule a]\nMatchNSID=1\nCreate=ublk\n' >"$tmp/apply.conf"
expect 1 "apply: a namespace with an escape" "$UBLKIT" apply --config "$tmp/apply.conf" "$(printf 'nvme0n1\033[2J')"
printable "apply shows the namespace printable"
expect 1 "apply: a namespace of 5000 bytes" "$UBLKIT" apply --config "$tmp/apply.conf" "$long"
printable "apply cuts a long namespace"

# ---- usage errors: the synopsis everywhere, getopt names the command -------
usage_error "an unknown command has the synopsis" frobnicate
usage_error "--sysroot to a missing directory has the synopsis" --sysroot "$tmp/nope" doctor
contains err "give a directory" "--sysroot says what it takes"
usage_error "--sysroot ''" --sysroot '' doctor
contains err "sysroot: empty" "an empty --sysroot is refused"
expect 2 "a bad UBLKIT_SYSROOT has the synopsis" env UBLKIT_SYSROOT="$tmp/nope" "$UBLKIT" doctor
contains err "^Usage: ublkit" "a bad UBLKIT_SYSROOT shows the synopsis"
usage_error "an unknown global option" --frob doctor
contains err "^ublkit: unrecognized option '--frob'" "getopt names the program, not its path"
usage_error "swap on --file without a value" swap on --file
contains err "^ublkit swap on: option '--file' requires an argument" "getopt names 'ublkit swap on'"
usage_error "dm create linear -x" dm create linear l0 --device 259:1 -x
contains err "^ublkit dm create: invalid option -- 'x'" "getopt names 'ublkit dm create'"
usage_error "status --frob" status --frob
contains err "^ublkit status: unrecognized option '--frob'" "getopt names 'ublkit status'"
usage_error "del --timeout without a value" del 1 --timeout
contains err "^ublkit del: option '--timeout' requires an argument" "getopt names 'ublkit del'"

# ---- small leniencies -------------------------------------------------------
usage_error "modprobe -- -x" modprobe -- -x
contains err "not starting with '-'" "modprobe says a name may not start with '-'"
usage_error "del: the same id twice" del 1 1
contains err "given twice" "del says an id is given twice"
usage_error "del: the same device in two spellings" del 1 /dev/ublkb1
expect 3 "/dev/ublkc5 names device 5" "$UBLKIT" --sysroot "$root" info /dev/ublkc5
usage_error "a bad id lists every spelling" info /dev/ublkx5
contains err "ublkcN, /dev/ublkcN" "the id message names the control node spellings"

echo "1..$n"
[ "$fails" -eq 0 ]
