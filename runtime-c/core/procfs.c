/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * procfs probes: procfs("PATH").read/.write make the file
 * /proc/systemtap/MODULE/PATH while the session runs. A read and a write
 * point of one path share one file: the first point of the path owns it.
 * Its mode is 0400 for a reader, 0200 for a writer, 0600 for both; with a
 * umask (on either point) it is 0444/0222/0666 less the umask's bits.
 *
 * Each open gets its own buffer (allocated in open, in process context,
 * never on the probe path): a read probe runs at the open's first read
 * and its $value is the file's text for that open, up to .maxsize bytes
 * (STP_PROCFS_BUFSIZE by default); a write probe runs once per write()
 * with what was written (at most MAXSTRINGLEN - 1 bytes of it, the rest
 * coming in the following calls). The handler runs as every other
 * family's does, through stp_probe_run_args(): the buffer and its size
 * are its two argument slots (STP_PROBE_TEXT in core/context.h). Reading
 * a file without a read probe gives nothing and writing one without a
 * write probe fails with EIO, as SystemTap's do (root may open either).
 *
 * The file __stdin, which staprun feeds its standard input to one character
 * per write, is the input probes' (input.char and input.line, both write
 * points of it): it alone may have several write points, each run in turn.
 *
 * /proc/systemtap is made when missing (looked up first: creating an entry
 * that exists would be a kernel warning) and, as SystemTap leaves it, kept
 * when the module goes; it holds nothing of the module's. proc_remove()
 * waits for handlers still running in the files before the session's
 * memory goes.
 */

#ifndef STP_PROCFS_BUFSIZE
#define STP_PROCFS_BUFSIZE MAXSTRINGLEN
#endif

struct stp_procfs {
	const struct stp_probe *probe;
	const char *path;
	bool write;            /* a write probe, else a read probe */
	int umask;             /* -1: none given */
	unsigned int maxsize;  /* a read probe's buffer; 0: STP_PROCFS_BUFSIZE */
	bool optional;
	/* On the point that owns the file (the first of its path): */
	struct stp_procfs *reader, *writer;
	/* The next write point of the file (__stdin only), on a writer. */
	struct stp_procfs *next_writer;
	struct proc_dir_entry *pde;
};

/* One open of a file: its buffer and, for reads, the text made. */
struct stp_procfs_open {
	struct stp_procfs *file;
	size_t size;
	size_t len;
	bool filled;
	char buf[];
};

static struct proc_dir_entry *stp_procfs_dir;
static char stp_procfs_dir_name[MODULE_NAME_LEN + sizeof("systemtap/")];

static int stp_procfs_open(struct inode *inode, struct file *file)
{
	struct stp_procfs *f = stp_pde_data(inode);
	struct stp_procfs_open *o;
	size_t size = MAXSTRINGLEN;

	if ((file->f_mode & FMODE_READ) && f->reader && f->reader->maxsize)
		size = max_t(size_t, f->reader->maxsize, MAXSTRINGLEN);
	else if ((file->f_mode & FMODE_READ) && f->reader)
		size = max_t(size_t, STP_PROCFS_BUFSIZE, MAXSTRINGLEN);
	o = kvzalloc(struct_size(o, buf, size), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	o->file = f;
	o->size = size;
	file->private_data = o;
	return 0;
}

static int stp_procfs_release(struct inode *inode, struct file *file)
{
	kvfree(file->private_data);
	return 0;
}

static ssize_t stp_procfs_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct stp_procfs_open *o = file->private_data;

	if (!o->file->reader)
		return 0;
	if (!o->filled) {
		unsigned long args[2] = { (unsigned long)o->buf, o->size };

		o->buf[0] = '\0';
		stp_probe_run_args(o->file->reader->probe, STP_PT_PROCFS, STP_RUNNING, args);
		o->len = strnlen(o->buf, o->size);
		o->filled = true;
	}
	return simple_read_from_buffer(ubuf, count, ppos, o->buf, o->len);
}

static ssize_t stp_procfs_write(struct file *file, const char __user *ubuf, size_t count,
				loff_t *ppos)
{
	struct stp_procfs_open *o = file->private_data;
	unsigned long args[2] = { (unsigned long)o->buf, MAXSTRINGLEN };
	size_t len = min_t(size_t, count, MAXSTRINGLEN - 1);
	struct stp_procfs *w;

	if (!o->file->writer)
		return -EIO;
	if (copy_from_user(o->buf, ubuf, len))
		return -EFAULT;
	for (w = o->file->writer; w; w = w->next_writer) {
		o->buf[len] = '\0';
		stp_probe_run_args(w->probe, STP_PT_PROCFS, STP_RUNNING, args);
	}
	*ppos += len;
	return len;
}

STP_PROC_OPS(stp_procfs_ops, stp_procfs_open, stp_procfs_read, stp_procfs_write,
	     stp_procfs_release);

/* Whether /proc/systemtap exists. */
static bool stp_procfs_root_exists(void)
{
	struct path path;

	if (kern_path("/proc/systemtap", LOOKUP_DIRECTORY, &path))
		return false;
	path_put(&path);
	return true;
}

/* The file's mode, from its read and write points. */
static umode_t stp_procfs_mode(const struct stp_procfs *f)
{
	int umask = -1;

	if (f->reader && f->reader->umask >= 0)
		umask = f->reader->umask;
	if (f->writer && f->writer->umask >= 0 && umask < 0)
		umask = f->writer->umask;
	if (umask < 0)
		return S_IFREG | (f->reader ? 0400 : 0) | (f->writer ? 0200 : 0);
	return S_IFREG | (((f->reader ? 0444 : 0) | (f->writer ? 0222 : 0)) & ~umask);
}

static void stp_procfs_unregister(struct stp_procfs *ps, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (ps[i].pde)
			proc_remove(ps[i].pde);
		ps[i].pde = NULL;
	}
	if (!stp_procfs_dir)
		return;
	proc_remove(stp_procfs_dir);
	stp_procfs_dir = NULL;
}

/* Makes every point's file, counting into *count. */
static void stp_procfs_register(struct stp_procfs *ps, int n, struct stp_reg_count *count)
{
	int i, j, rc = 0;

	if (n == 0)
		return;
	if (!stp_procfs_root_exists() && !proc_mkdir("systemtap", NULL))
		rc = -ENOMEM;
	if (rc == 0) {
		snprintf(stp_procfs_dir_name, sizeof(stp_procfs_dir_name), "systemtap/%s",
			 THIS_MODULE->name);
		stp_procfs_dir = proc_mkdir(stp_procfs_dir_name, NULL);
		if (!stp_procfs_dir)
			rc = -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct stp_procfs *p = &ps[i], *owner = p;
		int prc = rc;

		for (j = 0; j < i; j++) {
			if (strcmp(ps[j].path, p->path) == 0) {
				owner = &ps[j];
				break;
			}
		}
		if (prc == 0 && p->write && owner->writer && strcmp(p->path, "__stdin") == 0) {
			struct stp_procfs *last = owner->writer;

			while (last->next_writer)
				last = last->next_writer;
			last->next_writer = p;  /* noted with the file below */
			continue;
		}
		if (prc == 0 && (p->write ? owner->writer : owner->reader))
			prc = -EBUSY;  /* one read and one write probe per file */
		else if (prc == 0 && p->write)
			owner->writer = p;
		else if (prc == 0)
			owner->reader = p;
		if (prc != 0)
			stp_reg_count_note(count, p->probe, p->optional, prc);
	}
	/* The files, now that each knows its reader and writer. */
	for (i = 0; i < n; i++) {
		struct stp_procfs *p = &ps[i], *w;
		int prc = 0;

		if (!p->reader && !p->writer)
			continue;  /* not an owner, or refused above */
		if (rc == 0) {
			p->pde = proc_create_data(p->path, stp_procfs_mode(p), stp_procfs_dir,
						  &stp_procfs_ops, p);
			if (!p->pde)
				prc = -ENOMEM;
		} else {
			prc = rc;
		}
		if (p->reader)
			stp_reg_count_note(count, p->reader->probe, p->reader->optional, prc);
		for (w = p->writer; w; w = w->next_writer)
			stp_reg_count_note(count, w->probe, w->optional, prc);
	}
}

/* The procfs family: a generated module lists its table with it. */
STP_FAMILY(procfs, struct stp_procfs, stp_procfs_register, stp_procfs_unregister);
