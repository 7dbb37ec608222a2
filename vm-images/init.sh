#!/bin/busybox sh
# stapkit's test guests: /init of the initramfs that stap-matrix builds,
# and of the one `cargo xtask oracle` builds to run real SystemTap's
# modules in the same setting.
#
# Runs every case listed in /cases/list, one at a time, and streams each
# case's results to the second serial port (ttyS1 on x86_64, a PCI 16550
# as ttyS0 on arm64: /cases/results-port) as framed files: a line
# "@@stapkit NAME SIZE CRC" followed by SIZE raw bytes (CRC is the data's
# CRC-32: the line can lose bytes under TCG, and the host reruns a case
# whose frames do not check), ended by "@@stapkit-end" (the format
# stapkit::vm::results decodes). The console (first port) only carries
# progress lines and kernel messages. Each process costs tens of
# milliseconds under TCG, times every case: the loop reads its files with
# the shell's own `read`, and one `stapkit-workload emit` frames a case's
# files and the kernel log (the shell's `emit` and busybox's `dmesg` do it
# where a guest has no workload).
#
# Per case directory /cases/ID: module.ko, name (the module name),
# timeout (seconds before SIGINT; KILL 20 s later), args (the loader's
# options, shell-quoted), modules ("NAME PARAMS..." per line, dependencies
# first: the kernel's own modules loaded before the case and unloaded
# after it), later (modules the case may load itself), and run (shell
# commands run instead of staprun, with $MODULE the module), if any.
#
# /cases/flavour says whose loader runs the cases. Without it, stapkit's
# (/bin/staprun, static). With "systemtap", SystemTap's own
# /usr/bin/staprun, which starts its stapio: the guest then also has the
# mounts they expect (tracefs, devpts, /dev/shm, a tmpfs /tmp) and a
# PATH with /usr/bin; the module is given as /tmp/NAME.ko (SystemTap's
# loader wants the file named after the module) with stdin from /dev/null; a
# case's run gets $NAME too, runs in a scratch directory under the same
# SIGINT limit, and keeps the results port open; and a module still
# loaded after its case is removed, to leave a clean kernel.
#
# It loads modules (staprun's, and Debian's that a case names), so it only
# ever runs as PID 1 of a test guest's initramfs: anywhere else it stops
# before doing anything.
if [ "$$" != 1 ]; then
	echo "init.sh is a test guest's /init; it does not run on a host" >&2
	exit 1
fi
/bin/busybox --install -s /bin
flavour=$(/bin/cat /cases/flavour 2>/dev/null)
if [ "$flavour" = systemtap ]; then
	export PATH=/bin:/usr/bin:/usr/sbin:/sbin
else
	export PATH=/bin
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /out /tmp /lib/modules
if [ "$flavour" = systemtap ]; then
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	mkdir -p /dev/pts /dev/shm /var/run /run
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	mount -t tmpfs tmpfs /tmp
fi
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

# emit NAME FILE: one framed file on the results port (without the
# workload).
emit() {
	size=$(wc -c < "$2")
	size=$((size + 0))
	crc=$(crc32 < "$2")
	printf '@@stapkit %s %s %s\n' "$1" "$size" "$crc" >&3
	cat "$2" >&3
}

# The kernel's own modules loaded for the case, or by it: unloaded after it,
# unless the next case asks for the same modules with the same parameters
# and this one loaded none itself: they are then kept for it. A module
# cannot always be loaded again at once: 7.x keeps a removed SCSI host's
# scsi_tmf_N workqueue, so a second scsi_debug, given host N again, fails
# to register its own (-EEXIST) and has no disk.
unload_kernel_modules() {
	kept=""
	if [ -n "$loaded" ] && [ -n "$next" ] && [ ! -s "$dir/later" ] &&
		[ "$(cat "$dir/modules")" = "$(cat "/cases/$next/modules")" ]; then
		kept=$loaded
		return 0
	fi
	for mod in $loaded; do
		[ -e "/sys/module/$mod" ] || continue
		rmmod "$mod" || echo "init: rmmod $mod failed"
	done
}

# The case through stapkit's staprun. SIGINT after the time limit lets
# staprun run the end probes; KILL if even that hangs (one `timeout` does
# both: `-k`). $args holds
# shell-quoted staprun options (-c CMD). A case with its own commands
# (run) runs them in /tmp instead, with $MODULE the module (or bundle).
# The case's processes do not inherit the results port (fd 3): a -c
# command has stdin, stdout and stderr only, as under SystemTap.
run_stapkit() {
	if [ -s "$dir/run" ]; then
		(cd /tmp && MODULE="$dir/module.ko" timeout -s KILL $((limit + 20)) \
			sh "$dir/run") > /out/stdout 2>> /out/stderr 3>&-
	else
		eval timeout -k 20 -s INT "$limit" \
			staprun $args "$dir/module.ko" > /out/stdout 2>> /out/stderr 3>&-
	fi
	echo $? > /out/rc
	unload_kernel_modules
	if [ -e "/sys/module/$name" ]; then echo loaded > /out/module; else echo unloaded > /out/module; fi
}

# The case through SystemTap's staprun (see the flavour above).
run_systemtap() {
	cp "$dir/module.ko" "/tmp/$name.ko"
	if [ -e "$dir/run" ]; then
		mkdir -p /tmp/run && cd /tmp/run
		MODULE=/tmp/$name.ko NAME=$name timeout -k 20 -s INT "$limit" \
			sh "$dir/run" < /dev/null > /out/stdout 2>> /out/stderr
		echo $? > /out/rc
		cd / && rm -rf /tmp/run
	else
		eval timeout -k 20 -s INT "$limit" \
			/usr/bin/staprun $args "/tmp/$name.ko" < /dev/null > /out/stdout 2>> /out/stderr
		echo $? > /out/rc
	fi
	if [ -e "/sys/module/$name" ]; then
		echo loaded > /out/module
		/usr/bin/staprun -d "$name" > /dev/null 2>&1 || rmmod "$name" 2>/dev/null
	else
		echo unloaded > /out/module
	fi
	unload_kernel_modules
	rm -f "/tmp/$name.ko"
}

# The workload frames results if it has `emit` (a guest without it, or
# with an older build, uses the shell's).
framer=shell
if stapkit-workload emit check /cases results-port > /dev/null 2>&1; then
	framer=workload
fi
echo "init: booted $(uname -r)"
dmesg -c > /dev/null
set -- $(cat /cases/list)
kept=""
while [ $# -gt 0 ]; do
	case=$1
	shift
	next=${1:-}
	dir=/cases/$case
	read -r limit < "$dir/timeout"
	read -r name < "$dir/name"
	read -r args < "$dir/args"
	echo "init: case $case"
	# The kernel's own modules the case asked for (dependencies first;
	# "NAME PARAMS..." per line), loaded now. A failed insmod shows in the
	# case's stderr.
	: > /out/stderr
	# Modules the previous case kept for this one are this case's to unload.
	loaded=$kept
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
	if [ "$flavour" = systemtap ]; then
		run_systemtap
	else
		run_stapkit
	fi
	if [ "$framer" = workload ]; then
		stapkit-workload emit "$case" /out stdout stderr rc module \
			--kernel-log dmesg >&3
	else
		dmesg -c > /out/dmesg
		for part in stdout stderr rc module dmesg; do
			emit "$case.$part" "/out/$part"
		done
	fi
done
printf '@@stapkit-end\n' >&3
# Padding after the end marker absorbs anything the final close drops.
printf '%064d\n' 0 >&3
exec 3>&-
echo "init: success"
# The reboot system call ends its caller when the power-off it asked for has
# not stopped the machine yet, and under a loaded host QEMU's main loop can
# take that long: pid 1 exiting would then panic ("Attempted to kill init!")
# after every case passed. A child asks; pid 1 waits for the end.
poweroff -f &
while :; do sleep 1; done
