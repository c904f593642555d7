// SPDX-License-Identifier: MIT
/*
 * tracefs: find or mount it, expand tracepoint globs, and parse an event's
 * format file into the layout the BPF side needs to copy the raw record
 * (fixed part + __data_loc areas).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_int.h"

int rec_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap), *nb;
	int fd, err = 0;

	if (!b)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(b);
		return -errno;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[n] = 0;
	*buf = b;
	if (len)
		*len = n;
	return 0;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int rec_tracefs__root(char *root, size_t size, char *err, size_t errsz)
{
	static const char *const cands[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char p[256];

	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/events", cands[i]);
		if (is_dir(p)) {
			snprintf(root, size, "%s", cands[i]);
			return 0;
		}
	}
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    is_dir("/sys/kernel/tracing/events")) {
		snprintf(root, size, "/sys/kernel/tracing");
		return 0;
	}
	snprintf(err, errsz, "cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
	return -ENOENT;
}

static int cmp_tp(const void *a, const void *b)
{
	const struct rec_tp_name *x = a, *y = b;
	int c = strcmp(x->cat, y->cat);

	return c ? c : strcmp(x->name, y->name);
}

static int list_dirs(const char *path, const char *glob, char ***out, size_t *n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cnt = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || fnmatch(glob, de->d_name, 0))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[cnt] = strdup(de->d_name);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	*out = v;
	*n = cnt;
	return 0;
}

int rec_tracefs__match(const char *root, const char *cat_glob, const char *name_glob,
		       struct rec_tp_name **out, size_t *n)
{
	struct rec_tp_name *res = NULL, *nr;
	char path[512], **cats = NULL, **names;
	size_t ncat = 0, nname, cnt = 0;
	int err;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/events", root);
	err = list_dirs(path, cat_glob, &cats, &ncat);
	if (err)
		return err;
	for (size_t i = 0; i < ncat; i++) {
		snprintf(path, sizeof(path), "%s/events/%s", root, cats[i]);
		if (list_dirs(path, name_glob, &names, &nname) == 0) {
			for (size_t j = 0; j < nname; j++) {
				char fmt[700];

				snprintf(fmt, sizeof(fmt), "%s/%s/format", path, names[j]);
				if (access(fmt, R_OK) == 0 && strlen(cats[i]) < 128 &&
				    strlen(names[j]) < 128) {
					nr = realloc(res, (cnt + 1) * sizeof(*res));
					if (nr) {
						res = nr;
						strcpy(res[cnt].cat, cats[i]);
						strcpy(res[cnt].name, names[j]);
						cnt++;
					}
				}
				free(names[j]);
			}
			free(names);
		}
		free(cats[i]);
	}
	free(cats);
	if (cnt)
		qsort(res, cnt, sizeof(*res), cmp_tp);
	*out = res;
	*n = cnt;
	return 0;
}

int rec_tp_format__parse(const char *text, struct rec_tp_layout *out, char *err, size_t errsz)
{
	const char *line = text;
	int have_id = 0, nfields = 0;

	memset(out, 0, sizeof(*out));
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char l[512];

		if (len >= sizeof(l))
			len = sizeof(l) - 1;
		memcpy(l, line, len);
		l[len] = 0;
		line = eol ? eol + 1 : NULL;

		if (!strncmp(l, "ID:", 3)) {
			uint64_t id;
			char *s = l + 3;

			while (*s == ' ')
				s++;
			if (rec_parse_uint(s, 1, UINT32_MAX, &id)) {
				snprintf(err, errsz, "bad ID line '%s'", l);
				return -EINVAL;
			}
			out->id = (uint32_t)id;
			have_id = 1;
			continue;
		}
		char *f = strstr(l, "field:");
		if (!f)
			continue;
		char *o = strstr(f, "offset:"), *sz = strstr(f, "size:");
		unsigned long off, size;

		if (!o || !sz || sscanf(o, "offset:%lu;", &off) != 1 ||
		    sscanf(sz, "size:%lu;", &size) != 1 || off > 65535 || size > 65535) {
			snprintf(err, errsz, "bad field line '%s'", l + strspn(l, " \t"));
			return -EINVAL;
		}
		nfields++;
		if (off + size > out->fixed_size)
			out->fixed_size = (uint32_t)(off + size);
		int rel = strstr(f, "__rel_loc") != NULL;
		if (strstr(f, "__data_loc") || rel) {
			if (size != 4) {
				snprintf(err, errsz, "bad __data_loc size in '%s'",
					 l + strspn(l, " \t"));
				return -EINVAL;
			}
			if (out->n_loc < 8) {
				out->loc_off[out->n_loc] = (uint16_t)off;
				out->loc_rel[out->n_loc] = (uint8_t)rel;
				out->n_loc++;
			}
		}
	}
	if (!have_id || !nfields) {
		snprintf(err, errsz, "%s", have_id ? "no fields" : "no ID line");
		return -EINVAL;
	}
	return 0;
}
