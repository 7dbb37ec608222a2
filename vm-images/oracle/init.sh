#!/bin/busybox sh
# stapkit oracle guest: /init of the initramfs `cargo xtask oracle` builds.
#
# Runs modules built by real SystemTap through SystemTap's own staprun
# (which starts its own stapio), one case at a time, and streams each
# case's results to the second serial port as framed files: a line
# "@@stapkit NAME SIZE" followed by SIZE raw bytes, ended by
# "@@stapkit-end" (the format stapkit::vm::results decodes). The console
# only carries progress lines and kernel messages.
#
# Per case directory /cases/ID: module.ko, name (the module name),
# timeout (seconds before SIGINT; KILL 20 s later), args (staprun
# options, one per line), and run (shell commands run instead of
# staprun, in a scratch directory, with $MODULE and $NAME), if any.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /dev/pts /dev/shm /out /tmp /var/run /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp

results=$(cat /cases/results-port)
stty -F "$results" raw -echo 2>/dev/null

# emit NAME FILE: one framed file on the results port.
emit() {
	size=$(wc -c < "$2")
	size=$((size + 0))
	printf '@@stapkit %s %s\n' "$1" "$size" > "$results"
	cat "$2" > "$results"
}

echo "init: booted $(uname -r)"
dmesg -c > /dev/null
for case in $(cat /cases/list); do
	dir=/cases/$case
	limit=$(cat "$dir/timeout")
	name=$(cat "$dir/name")
	echo "init: case $case"
	# staprun wants the module file named after the module.
	cp "$dir/module.ko" "/tmp/$name.ko"
	# SIGINT after the time limit lets staprun run the end probes; KILL if
	# even that hangs.
	# staprun options, one per line.
	set --
	while IFS= read -r arg; do set -- "$@" "$arg"; done < "$dir/args"
	if [ -e "$dir/run" ]; then
		mkdir -p /tmp/run && cd /tmp/run
		MODULE=/tmp/$name.ko NAME=$name timeout -s KILL $((limit + 20)) \
			timeout -s INT "$limit" sh "$dir/run" < /dev/null > /out/stdout 2> /out/stderr
		echo $? > /out/rc
		cd / && rm -rf /tmp/run
	else
		timeout -s KILL $((limit + 20)) timeout -s INT "$limit" \
			/usr/bin/staprun "$@" "/tmp/$name.ko" < /dev/null > /out/stdout 2> /out/stderr
		echo $? > /out/rc
	fi
	if [ -e "/sys/module/$name" ]; then
		echo loaded > /out/module
		# Leave a clean kernel for the next case.
		/usr/bin/staprun -d "$name" > /dev/null 2>&1 || rmmod "$name" 2>/dev/null
	else
		echo unloaded > /out/module
	fi
	rm -f "/tmp/$name.ko"
	dmesg -c > /out/dmesg
	for part in stdout stderr rc module dmesg; do
		emit "$case.$part" "/out/$part"
	done
done
printf '@@stapkit-end\n' > "$results"
echo "init: success"
poweroff -f
