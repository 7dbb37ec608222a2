//! What the kernel looks like without compiling against it: symbols
//! (System.map, the image's ELF), function prototypes and struct layouts
//! (BTF from the image, DWARF from a -dbg package), tracepoints, syscalls.
