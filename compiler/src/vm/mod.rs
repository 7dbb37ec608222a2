//! QEMU guests: initramfs assembly, booting, console supervision, result capture.
