/* The daemon's health, for a container's HEALTHCHECK or a supervisor. Once a
 * second the main loop writes STATE_DIR/health (a temporary file renamed
 * over it, so a reader never sees half of it); `netflow-concentrator
 * --health` reads it and says, in one line and its exit status, whether the
 * daemon runs, receives and delivers. A file, not a socket: it needs no
 * listener, works from another process of the container as any user that
 * may read state_dir, and says "not running" by being old or absent.
 *
 * Format (text, one item per line):
 *   netflow-concentrator-health 1
 *   time UNIX_SECONDS
 *   pid PID
 *   inputs WORKERS_RUNNING
 *   output NAME failing_for SECONDS queued RECORDS spool RECORDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "nfc.h"

#define HEALTH_MAGIC "netflow-concentrator-health 1"
#define HEALTH_STALE_S 10 /* written every second: older than this, the daemon is gone or hangs */

static void health_path(char *out, size_t len, const char *state_dir, const char *suffix)
{
	snprintf(out, len, "%s/health%s", state_dir, suffix);
}

int nfc_health_write(const char *state_dir, struct nfc_ctx *const *out, size_t nout, unsigned inputs)
{
	static int warned;
	char path[4096], tmp[4096];
	FILE *f;
	int ok;

	health_path(path, sizeof(path), state_dir, "");
	health_path(tmp, sizeof(tmp), state_dir, ".tmp");
	f = fopen(tmp, "w");
	if (f) {
		fprintf(f, "%s\ntime %lld\npid %ld\ninputs %u\n", HEALTH_MAGIC, (long long)time(NULL), (long)getpid(),
		        inputs);
		for (size_t i = 0; i < nout; i++)
			fprintf(f, "output %s failing_for %ld queued %zu spool %llu\n", out[i]->name,
			        nfc_output_failing_for(out[i]), nfc_output_queued(out[i]),
			        (unsigned long long)nfc_output_spool_records(out[i]));
		ok = fclose(f) == 0 && rename(tmp, path) == 0;
	} else {
		ok = 0;
	}
	if (!ok && !warned) {
		warned = 1;
		nfc_log_core(NFC_LOG_WARN, "cannot write %s: %s; netflow-concentrator --health will report the "
		             "daemon as not running (set [core] state_dir to a writable directory)", path,
		             strerror(errno));
	}
	if (ok)
		warned = 0;
	return ok ? NFC_OK : NFC_ERROR;
}

void nfc_health_remove(const char *state_dir)
{
	char path[4096];

	health_path(path, sizeof(path), state_dir, "");
	unlink(path);
}

int nfc_health_check(const char *state_dir, long fail_after_s)
{
	char path[4096], line[512], name[128];
	long long t = 0;
	long failing, worst = 0;
	unsigned inputs = 0;
	int magic = 0, bad = 0;
	FILE *f;

	health_path(path, sizeof(path), state_dir, "");
	f = fopen(path, "r");
	if (!f) {
		printf("unhealthy: %s: %s (the daemon is not running, or cannot write its state_dir)\n", path,
		       strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, HEALTH_MAGIC, strlen(HEALTH_MAGIC)))
			magic = 1;
		else if (sscanf(line, "time %lld", &t) == 1 || sscanf(line, "inputs %u", &inputs) == 1)
			continue;
		else if (sscanf(line, "output %127s failing_for %ld", name, &failing) == 2) {
			if (failing >= fail_after_s) {
				printf("%soutput [%s] has failed to deliver for %ld s (health_fail_after=%ld): see the "
				       "daemon's log, or run --test-connection", bad ? "; " : "unhealthy: ", name, failing,
				       fail_after_s);
				bad = 1;
			} else if (failing > worst) {
				worst = failing;
			}
		}
	}
	fclose(f);
	if (!magic) {
		printf("unhealthy: %s is not a health file of this daemon\n", path);
		return 1;
	}
	if (bad) {
		printf("\n");
		return 1;
	}
	if (time(NULL) - t > HEALTH_STALE_S) {
		printf("unhealthy: %s was last written %lld s ago (the daemon stopped or hangs)\n", path,
		       (long long)(time(NULL) - t));
		return 1;
	}
	if (inputs == 0) {
		printf("unhealthy: no input is receiving\n");
		return 1;
	}
	printf("healthy: %u input worker%s receiving, every output delivering%s\n", inputs, inputs == 1 ? "" : "s",
	       worst ? " (one retrying, within health_fail_after)" : "");
	return 0;
}
