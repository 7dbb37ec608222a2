#!/bin/busybox sh
# stapkit oracle guest: /init of the initramfs `cargo xtask oracle` builds.
#
# Runs modules built by real SystemTap through SystemTap's own staprun
# (which starts its own stapio), one case at a time, in the same setting
# as stap-matrix's guest (vm-images/init.sh): loopback up, the kernel's
# own modules a case names loaded before it and unloaded after it,
# `/bin/stapkit-workload`. Each case's results go to the second serial
# port as framed files: a line "@@stapkit NAME SIZE CRC" followed by SIZE
# raw bytes (CRC: the data's CRC-32), ended by "@@stapkit-end" (the
# format stapkit::vm::results decodes). The console only carries
# progress lines and kernel messages.
#
# Per case directory /cases/ID: module.ko, name (the module name),
# timeout (seconds before SIGINT; KILL 20 s later), args (shell-quoted
# staprun options), modules ("NAME PARAMS..." per line, dependencies
# first), later (modules the case may modprobe itself), and run (shell
# commands run instead of staprun, in a scratch directory, with $MODULE
# and $NAME), if any.
#
# It loads modules, so it only ever runs as PID 1 of a guest's
# initramfs: anywhere else it stops before doing anything.
if [ "$$" != 1 ]; then
	echo "init.sh is an oracle guest's /init; it does not run on a host" >&2
	exit 1
fi
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /dev/pts /dev/shm /out /tmp /var/run /run /lib/modules
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
# The kernel's own modules that cases asked for, with a modules.dep, where
# busybox modprobe looks for them.
ln -s /modules "/lib/modules/$(uname -r)"
# Loopback up, for the workload's TCP connections to 127.0.0.1.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null

results=$(cat /cases/results-port)
stty -F "$results" raw -echo 2>/dev/null
# Keep the port open for the whole run (see vm-images/init.sh).
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
	name=$(cat "$dir/name")
	args=$(cat "$dir/args")
	echo "init: case $case"
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
	while read -r mod; do
		[ -e "/sys/module/$mod" ] || loaded="$mod $loaded"
	done < "$dir/later"
	# staprun wants the module file named after the module.
	cp "$dir/module.ko" "/tmp/$name.ko"
	# SIGINT after the time limit lets staprun run the end probes; KILL if
	# even that hangs. $args holds shell-quoted staprun options (-c CMD).
	if [ -e "$dir/run" ]; then
		mkdir -p /tmp/run && cd /tmp/run
		MODULE=/tmp/$name.ko NAME=$name timeout -s KILL $((limit + 20)) \
			timeout -s INT "$limit" sh "$dir/run" < /dev/null > /out/stdout 2>> /out/stderr
		echo $? > /out/rc
		cd / && rm -rf /tmp/run
	else
		eval timeout -s KILL $((limit + 20)) timeout -s INT "$limit" \
			/usr/bin/staprun $args "/tmp/$name.ko" < /dev/null > /out/stdout 2>> /out/stderr
		echo $? > /out/rc
	fi
	if [ -e "/sys/module/$name" ]; then
		echo loaded > /out/module
		# Leave a clean kernel for the next case.
		/usr/bin/staprun -d "$name" > /dev/null 2>&1 || rmmod "$name" 2>/dev/null
	else
		echo unloaded > /out/module
	fi
	for mod in $loaded; do
		[ -e "/sys/module/$mod" ] || continue
		rmmod "$mod" || echo "init: rmmod $mod failed"
	done
	rm -f "/tmp/$name.ko"
	dmesg -c > /out/dmesg
	for part in stdout stderr rc module dmesg; do
		emit "$case.$part" "/out/$part"
	done
done
printf '@@stapkit-end\n' >&3
printf '%064d\n' 0 >&3
exec 3>&-
echo "init: success"
poweroff -f
