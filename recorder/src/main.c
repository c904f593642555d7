// SPDX-License-Identifier: MIT
/*
 * bpftape-record: the command line.  Parses options and probe specs (usage
 * errors exit 2 before anything is loaded) and runs the session.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tape/units.h>

#include "session.h"

#define PROG "bpftape-record"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: " PROG " [-o FILE] [-d DURATION] [-p PID | -- COMMAND ARGS...]\n"
	    "                      [-F HZ] [-e SPEC]... [-g] [--buffer-size SIZE] [-z LEVEL] "
	    "[-q|-v]\n"
	    "\n"
	    "Records kernel events with BPF into one self-contained trace file.\n"
	    "With no -e, samples on-CPU kernel and user stacks of the whole system at 99 Hz.\n"
	    "\n"
	    "  -o, --output FILE        trace file to create (default: bpftape.tape; mode 0600)\n"
	    "  -f, --force              overwrite FILE if it exists\n"
	    "  -d, --duration DURATION  stop after DURATION (10s, 500ms, 2m)\n"
	    "  -p, --pid PID            trace only process PID and its threads\n"
	    "  -F, --freq HZ            sampling frequency of the default profile (99)\n"
	    "  -e, --event SPEC         probe to record; repeatable:\n"
	    "                             profile[:hz:N]          CPU samples with stacks\n"
	    "                             tracepoint:CAT:NAME     alias t: or CAT:NAME; globs: "
	    "t:block:*\n"
	    "                             uprobe:PATH:SYMBOL      alias u:; uretprobe: (ur:) for "
	    "returns\n"
	    "                             usdt:PATH:PROVIDER:NAME USDT probe\n"
	    "                             offcpu                  off-CPU time with stacks\n"
	    "                           append ,stack ,kstack or ,ustack for stacks of one probe\n"
	    "  -g, --call-graph         capture kernel and user stacks for every probe\n"
	    "  -b, --buffer-size SIZE   size of each ring buffer (default: 8M per CPU up to\n"
	    "                           8 CPUs, 64M in all on larger hosts, at least 2M)\n"
	    "  -z, --compress LEVEL     zstd level (default 1; negative is faster)\n"
	    "  -q, --quiet              no progress line or summary\n"
	    "  -v, --verbose            more messages (including libbpf's)\n"
	    "  -h, --help               this help\n"
	    "\n"
	    "Process lifecycle (fork, exec, exit) and executable mappings with build-ids are\n"
	    "always recorded.  With -- COMMAND, the command and its descendants are traced\n"
	    "and recording stops when it exits; its exit status becomes ours.\n"
	    "\n"
	    "Examples:\n"
	    "  " PROG " -d 10s -o cpu.tape                  # whole-system CPU profile\n"
	    "  " PROG " -e t:syscalls:sys_enter_openat -- make -j8\n"
	    "  " PROG " -e 't:block:*' -g -p 1234 -d 30s\n"
	    "  " PROG " -e t:sched:sched_switch,kstack -d 5s\n"
	    "  " PROG " -e 'u:libc.so.6:malloc,ustack' -p 1234 -d 5s\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"duration", required_argument, NULL, 'd'},
	    {"pid", required_argument, NULL, 'p'},
	    {"freq", required_argument, NULL, 'F'},
	    {"event", required_argument, NULL, 'e'},
	    {"call-graph", no_argument, NULL, 'g'},
	    {"buffer-size", required_argument, NULL, 'b'},
	    {"compress", required_argument, NULL, 'z'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct rec_opts o = {0};
	struct rec_spec *specs = NULL;
	size_t nspecs = 0;
	char err[400];
	int c, ret;
	uint64_t v;
	bool freq_set = false;

	o.output = "bpftape.tape";
	o.hz = 99;
	o.buffer_bytes = 0; /* automatic */
	o.zstd_level = 1;
	o.argc = argc;
	o.argv = argv;

	/* "+": stop at the first non-option, so COMMAND's options stay its own */
	opterr = 0; /* our own one-line messages, named bpftape-record */
	while ((c = getopt_long(argc, argv, "+:o:fd:p:F:e:gb:z:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return usage_error("empty output file name%s", "");
			o.output = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'd':
			if (tape_parse_duration_ns(optarg, &o.duration_ns) || !o.duration_ns)
				return usage_error("invalid duration '%s' (e.g. 10s, 500ms, 2m)",
						   optarg);
			break;
		case 'p':
			if (rec_parse_uint(optarg, 1, 0x3fffffff, &v))
				return usage_error("invalid pid '%s'", optarg);
			o.pid = (pid_t)v;
			break;
		case 'F':
			if (rec_parse_uint(optarg, 1, 100000, &v))
				return usage_error("invalid frequency '%s' (1..100000 Hz)", optarg);
			o.hz = (unsigned int)v;
			freq_set = true;
			break;
		case 'e': {
			struct rec_spec *ns = realloc(specs, (nspecs + 1) * sizeof(*ns));

			if (!ns)
				return 1;
			specs = ns;
			if (rec_spec__parse(optarg, &specs[nspecs], err, sizeof(err))) {
				fprintf(stderr, PROG ": %s\n", err);
				free(specs);
				return 2;
			}
			nspecs++;
			break;
		}
		case 'g':
			o.all_stacks = true;
			break;
		case 'b':
			if (tape_parse_size(optarg, &o.buffer_bytes) || o.buffer_bytes < 4096 ||
			    o.buffer_bytes > (1ull << 30))
				return usage_error("invalid buffer size '%s' (4K..1G, e.g. 8M)",
						   optarg);
			break;
		case 'z': {
			char *end;
			long lv = strtol(optarg, &end, 10);

			if (!*optarg || *end || lv < -7 || lv > 22)
				return usage_error("invalid zstd level '%s' (-7..22)", optarg);
			o.zstd_level = (int)lv;
			break;
		}
		case 'q':
			o.verbosity = -1;
			break;
		case 'v':
			o.verbosity = 1;
			break;
		case 'h':
			usage(stdout);
			free(specs);
			return 0;
		case ':':
			free(specs);
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			free(specs);
			if (optopt)
				return usage_error("unknown option '-%c' (see --help)", optopt);
			return usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o.cmd = argv + optind;
	if (o.cmd && o.pid) {
		free(specs);
		return usage_error("-p and -- COMMAND are mutually exclusive%s", "");
	}
	if (!nspecs) {
		specs = calloc(1, sizeof(*specs));
		if (!specs)
			return 1;
		rec_spec__parse("profile", specs, err, sizeof(err));
		specs->hz = o.hz;
		nspecs = 1;
	} else if (freq_set) {
		for (size_t i = 0; i < nspecs; i++)
			if (specs[i].kind == REC_SPEC_PROFILE && !strcmp(specs[i].text, "profile"))
				specs[i].hz = o.hz;
	}
	o.specs = specs;
	o.nspecs = nspecs;
	ret = rec_session__run(&o);
	free(specs);
	return ret;
}
