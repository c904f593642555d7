/* SPDX-License-Identifier: MIT */
/* Human-readable names of the format's enumerations. */
#include "tape/format.h"

#define NAME_OF(tbl, v) ((v) < sizeof(tbl) / sizeof(tbl[0]) && tbl[v] ? tbl[v] : "?")

const char *tape_record_type__name(uint32_t type)
{
	static const char *const names[] = {
	    [TAPE_REC_HOST] = "host",	[TAPE_REC_EVENT_DESC] = "event_desc",
	    [TAPE_REC_EVENT] = "event", [TAPE_REC_STACK] = "stack",
	    [TAPE_REC_PROC] = "proc",	[TAPE_REC_MMAP] = "mmap",
	    [TAPE_REC_KSYMS] = "ksyms", [TAPE_REC_SYMTAB] = "symtab",
	    [TAPE_REC_LOSS] = "loss",	[TAPE_REC_END] = "end",
	};
	return NAME_OF(names, type);
}

const char *tape_source__name(uint32_t source)
{
	static const char *const names[] = {
	    [TAPE_SRC_TRACEPOINT] = "tracepoint", [TAPE_SRC_PROFILE] = "profile",
	    [TAPE_SRC_OFFCPU] = "offcpu",	  [TAPE_SRC_UPROBE] = "uprobe",
	    [TAPE_SRC_URETPROBE] = "uretprobe",	  [TAPE_SRC_USDT] = "usdt",
	    [TAPE_SRC_KPROBE] = "kprobe",	  [TAPE_SRC_KRETPROBE] = "kretprobe",
	};
	return NAME_OF(names, source);
}

const char *tape_loss_kind__name(uint32_t kind)
{
	static const char *const names[] = {
	    [TAPE_LOSS_RINGBUF] = "ringbuf_drop",
	    [TAPE_LOSS_KSTACK] = "kstack_fail",
	    [TAPE_LOSS_USTACK] = "ustack_fail",
	    [TAPE_LOSS_STACK_TRUNC] = "stack_truncated",
	    [TAPE_LOSS_PROC] = "proc_drop",
	    [TAPE_LOSS_MMAP] = "mmap_drop",
	    [TAPE_LOSS_PAYLOAD_TRUNC] = "payload_truncated",
	    [TAPE_LOSS_OTHER] = "other",
	};
	return NAME_OF(names, kind);
}

const char *tape_proc_kind__name(uint32_t kind)
{
	static const char *const names[] = {
	    [TAPE_PROC_SCAN] = "scan", [TAPE_PROC_FORK] = "fork", [TAPE_PROC_EXEC] = "exec",
	    [TAPE_PROC_EXIT] = "exit", [TAPE_PROC_COMM] = "comm",
	};
	return NAME_OF(names, kind);
}
