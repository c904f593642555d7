// SPDX-License-Identifier: MIT
/* Debug aid for recorder tests: prints a summary of a trace read with the
 * format reader (record counts, descriptors, procs, losses). */
#include <stdio.h>
#include <string.h>

#include "trace_load.h"

int main(int argc, char **argv)
{
	struct trace t;
	int verbose = argc > 2 && !strcmp(argv[2], "-v");

	if (argc < 2) {
		fprintf(stderr, "usage: tape_dump FILE [-v]\n");
		return 2;
	}
	if (trace_load(argv[1], &t)) {
		fprintf(stderr, "tape_dump: %s\n", t.errmsg);
		return 1;
	}
	printf("host=%d release=%s recorder='%s' cmdline='%s' ksyms=%zu end=%d\n", t.has_host,
	       t.release, t.recorder, t.cmdline, t.nksyms, t.has_end);
	printf("descs=%zu events=%zu stacks=%zu procs=%zu mmaps=%zu losses=%zu read_error=%d %s\n",
	       t.ndescs, t.nevents, t.nstacks, t.nprocs, t.nmmaps, t.nlosses, t.read_error,
	       t.errmsg);
	printf("stack_before_use=%d desc_before_use=%d\n", t.stack_before_use, t.desc_before_use);
	for (size_t i = 0; i < t.ndescs && (verbose || i < 5); i++)
		printf("desc %u %s src=%u flags=%u tp=%u\n", t.descs[i].type_id, t.descs[i].name,
		       t.descs[i].source, t.descs[i].flags, t.descs[i].tp_id);
	for (size_t i = 0; i < t.nlosses; i++)
		printf("loss type=%u cpu=%u kind=%u count=%llu\n", t.losses[i].type_id,
		       t.losses[i].cpu, t.losses[i].kind, (unsigned long long)t.losses[i].count);
	if (verbose) {
		for (size_t i = 0; i < t.nprocs; i++)
			printf("proc k=%u f=%u pid=%u tid=%u ppid=%u exit=%d comm=%s file=%s\n",
			       t.procs[i].kind, t.procs[i].flags, t.procs[i].pid, t.procs[i].tid,
			       t.procs[i].ppid, t.procs[i].exit_code, t.procs[i].comm,
			       t.procs[i].filename);
		for (size_t i = 0; i < t.nmmaps; i++)
			printf("mmap pid=%u %llx-%llx off=%llx bid=%u f=%u %s\n", t.mmaps[i].pid,
			       (unsigned long long)t.mmaps[i].start,
			       (unsigned long long)t.mmaps[i].end,
			       (unsigned long long)t.mmaps[i].pgoff, t.mmaps[i].build_id_size,
			       t.mmaps[i].flags, t.mmaps[i].path);
		for (size_t i = 0; i < t.nevents && i < 20; i++)
			printf(
			    "event type=%u cpu=%u pid=%u tid=%u ts=%llu k=%u u=%u f=%u psize=%u\n",
			    t.events[i].type_id, t.events[i].cpu, t.events[i].pid, t.events[i].tid,
			    (unsigned long long)t.events[i].ts_ns, t.events[i].kstack_id,
			    t.events[i].ustack_id, t.events[i].flags, t.events[i].payload_size);
	}
	if (t.has_end)
		printf("end status=%d events=%llu lost=%llu\n", t.end.status,
		       (unsigned long long)t.end.events, (unsigned long long)t.end.lost);
	trace_free(&t);
	return 0;
}
