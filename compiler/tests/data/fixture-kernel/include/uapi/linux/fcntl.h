/* Directory-relative lookups in the fixture kernel. */
#define AT_FDCWD		-100
