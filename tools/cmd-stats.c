/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit stats: per-device I/O counters and latency percentiles. */
#include "config.h"

#include <errno.h>
#include <getopt.h>

#include "tool.h"
#include "ublkit/ublk.h"

static const char usage[] =
	"Usage: ublkit stats [--json] ID\n"
	"\n"
	"I/O statistics of a device served by ublkit: operations, bytes and\n"
	"errors per operation type, requests in flight, and the latency from\n"
	"the kernel handing a request to the server until its completion\n"
	"(p50, p99, p99.9, max).\n";

static void print_ns(const char *label, uint64_t ns)
{
	if (ns >= 10000000)
		printf("  %-6s %8.1f ms\n", label, (double)ns / 1e6);
	else
		printf("  %-6s %8.1f us\n", label, (double)ns / 1e3);
}

int cmd_stats(struct tool *t, int argc, char **argv)
{
	struct ublkit_stats st;
	uint32_t id;
	int r;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_one_dev_id(t, argc, argv, &id);
	if (r >= 0)
		return r;
	r = ublkit_stats_read(t->ctx, id, &st);
	if (r == -ENOENT) {
		tool_error("ublk%u is not served by ublkit here (no statistics); see 'ublkit list'",
			   id);
		return EXIT_FAIL;
	}
	if (r < 0)
		return tool_fail(r, "cannot read the statistics of ublk%u", id);
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", id);
		json_begin_object("ops");
		for (int op = 0; op < UBLKIT_OP_COUNT; op++) {
			json_begin_object(ublkit_stat_op_name(op));
			json_uint("ops", st.op[op].ops);
			json_uint("bytes", st.op[op].bytes);
			json_uint("errors", st.op[op].errors);
			json_end_object();
		}
		json_end_object();
		json_uint("in_flight", st.in_flight);
		json_begin_object("latency_ns");
		json_uint("count", st.lat_count);
		json_uint("p50", st.lat_p50_ns);
		json_uint("p99", st.lat_p99_ns);
		json_uint("p999", st.lat_p999_ns);
		json_uint("max", st.lat_max_ns);
		json_end_object();
		json_end_object();
		json_finish();
		return EXIT_OK;
	}
	printf("ublk%u\n  %-13s %12s %16s %8s\n", id, "OP", "OPS", "BYTES", "ERRORS");
	for (int op = 0; op < UBLKIT_OP_COUNT; op++)
		printf("  %-13s %12llu %16llu %8llu\n", ublkit_stat_op_name(op),
		       (unsigned long long)st.op[op].ops, (unsigned long long)st.op[op].bytes,
		       (unsigned long long)st.op[op].errors);
	printf("  in flight: %llu\nlatency (%llu requests):\n", (unsigned long long)st.in_flight,
	       (unsigned long long)st.lat_count);
	print_ns("p50", st.lat_p50_ns);
	print_ns("p99", st.lat_p99_ns);
	print_ns("p99.9", st.lat_p999_ns);
	print_ns("max", st.lat_max_ns);
	return EXIT_OK;
}
