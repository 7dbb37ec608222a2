#!/bin/busybox sh
# stapkit test guest: /init of the initramfs that stap-matrix builds.
#
# Runs every case listed in /cases/list through staprun, one at a time,
# and streams each case's results to the second serial port (ttyS1 on
# x86_64, a PCI 16550 as ttyS0 on arm64: /cases/results-port) as framed
# files: a line "@@stapkit NAME SIZE CRC" followed by SIZE raw bytes (CRC
# is the data's CRC-32: the line can lose bytes under TCG, and the host
# reruns a case whose frames do not check). The console (first port) only
# carries progress lines and kernel messages.
#
# It loads modules (staprun's, and Debian's that a case names), so it only
# ever runs as PID 1 of a test guest's initramfs: anywhere else it stops
# before doing anything.
if [ "$$" != 1 ]; then
	echo "init.sh is a test guest's /init; it does not run on a host" >&2
	exit 1
fi
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /out /tmp
mkdir -p /out /tmp /lib/modules
# The kernel's own modules that cases asked for, with a modules.dep, where
# busybox modprobe looks for them.
ln -s /modules "/lib/modules/$(uname -r)"
# Loopback up, for the workload's TCP connections to 127.0.0.1.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null

results=$(cat /cases/results-port)
stty -F "$results" raw -echo 2>/dev/null
# Keep the port open for the whole run: the last close of a serial port
# shuts the UART down and clears its transmit FIFO, which can drop the
# tail of a frame still in flight.
exec 3>"$results"

# emit NAME FILE: one framed file on the results port.
emit() {
	size=$(wc -c < "$2")
	size=$((size + 0))
	crc=$(crc32 < "$2")
	printf '@@stapkit %s %s %s\n' "$1" "$size" "$crc" >&3
	cat "$2" >&3
}

echo "init: booted $(uname -r)"
dmesg -c > /dev/null
for case in $(cat /cases/list); do
	dir=/cases/$case
	limit=$(cat "$dir/timeout")
	args=$(cat "$dir/args")
	echo "init: case $case"
	# The kernel's own modules the case asked for (dependencies first;
	# "NAME PARAMS..." per line), loaded now and unloaded after it. A
	# failed insmod shows in the case's stderr.
	: > /out/stderr
	loaded=""
	while read -r mod params; do
		[ -e "/sys/module/$mod" ] && continue
		if insmod "/modules/$mod.ko" $params 2>> /out/stderr; then
			loaded="$mod $loaded"
		else
			echo "init: insmod $mod failed" >> /out/stderr
		fi
	done < "$dir/modules"
	# Those the case may modprobe itself: unloaded after it too, if it did.
	while read -r mod; do
		[ -e "/sys/module/$mod" ] || loaded="$mod $loaded"
	done < "$dir/later"
	# SIGINT after the time limit lets staprun run the end probes; KILL if
	# even that hangs. $args holds shell-quoted staprun options (-c CMD).
	# A case with its own commands (run) runs them in /tmp instead, with
	# $MODULE the module (or bundle). The case's processes do not inherit
	# the results port (fd 3): a -c command has stdin, stdout and stderr
	# only, as under SystemTap.
	if [ -s "$dir/run" ]; then
		(cd /tmp && MODULE="$dir/module.ko" timeout -s KILL $((limit + 20)) \
			sh "$dir/run") > /out/stdout 2>> /out/stderr 3>&-
	else
		eval timeout -s KILL $((limit + 20)) timeout -s INT "$limit" \
			staprun $args "$dir/module.ko" > /out/stdout 2>> /out/stderr 3>&-
	fi
	echo $? > /out/rc
	for mod in $loaded; do
		[ -e "/sys/module/$mod" ] || continue
		rmmod "$mod" || echo "init: rmmod $mod failed"
	done
	name=$(cat "$dir/name")
	if [ -e "/sys/module/$name" ]; then echo loaded > /out/module; else echo unloaded > /out/module; fi
	dmesg -c > /out/dmesg
	for part in stdout stderr rc module dmesg; do
		emit "$case.$part" "/out/$part"
	done
done
printf '@@stapkit-end\n' >&3
# Padding after the end marker absorbs anything the final close drops.
printf '%064d\n' 0 >&3
exec 3>&-
echo "init: success"
poweroff -f
