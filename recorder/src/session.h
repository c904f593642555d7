/* SPDX-License-Identifier: MIT */
/*
 * One recording: load the BPF programs, attach the probes, drain the rings
 * into the trace writer until the duration elapses, the command exits or a
 * signal arrives, then write the loss counters and the END record.
 */
#ifndef REC_SESSION_H
#define REC_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rec_int.h"

struct rec_opts {
	const char *output;
	bool force;
	uint64_t duration_ns; /* 0 = until stopped */
	pid_t pid;	      /* -p; 0 = none */
	char **cmd;	      /* -- COMMAND ARGS (NULL-terminated), or NULL */
	unsigned int hz;      /* -F for the default profile */
	struct rec_spec *specs;
	size_t nspecs;
	bool all_stacks;       /* -g */
	uint64_t buffer_bytes; /* size of each ring; 0 = automatic */
	int zstd_level;
	int verbosity; /* -1 quiet, 0 normal, 1 verbose */
	int argc;      /* the recorder's own command line, for the trace */
	char **argv;
};

/*
 * Runs the recording.  Returns the process exit code: 0 ok (or the command's
 * status with -- COMMAND), 1 runtime failure, 2 usage error.  Prints its own
 * one-line errors and the final summary.
 */
int rec_session__run(const struct rec_opts *o);

#endif /* REC_SESSION_H */
