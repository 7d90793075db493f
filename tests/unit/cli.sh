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
for f in "$top_srcdir"/examples/*.conf; do
	expect 0 "example $(basename "$f") passes check-config" "$UBLKIT" check-config "$f"
done

echo "1..$n"
[ "$fails" -eq 0 ]
