/*
 * What out_sekoia.c (the running output) and sekoia_diag.c (its
 * --test-connection check) share: the instance and how it is set up.
 */
#ifndef SEKOIA_H
#define SEKOIA_H

#include <pthread.h>
#include <time.h>

#include "nfc/plugin.h"
#include "sekoia_frame.h"

#define SEKOIA_DEFAULT_REGION "FRA1"
#define SEKOIA_PORT 10514
#define SEKOIA_HOSTNAME_MAX 255 /* RFC 5424 HOSTNAME */

/* Where the output delivers, for status() on the main thread: written by
 * the output's thread on connect and disconnect, under `lock`. */
struct sekoia_status {
	pthread_mutex_t lock;
	int lock_ready;
	char addr[64];  /* the address connected to, or last tried ("" before) */
	int connected;
	time_t since;   /* of the last change; 0: never connected */
};

struct sekoia {
	/* parameters, written by the core */
	char *host;
	long long port;
	char *intake_key;
	char *region;
	char *hostname;
	char *app_name;
	long long pri;
	unsigned long long max_event_size;

	/* state */
	struct nfc_ctx *ctx;
	const char *dest; /* host, or the region's intake host */
	char syshost[SEKOIA_HOSTNAME_MAX + 1];
	struct sekoia_framer fr;
	struct nfc_conn *conn;
	int connected_before;
	time_t next_idle_connect; /* idle(): no connection attempt before this */
	unsigned idle_backoff_s;
	int c_oversize, c_reconnects;
	struct sekoia_status st;
};

/* Set dest, the syslog host name and the framer from the parameters (for
 * start() and diagnose()). NFC_OK, NFC_EINVAL or NFC_ENOMEM. */
int sekoia_setup(struct sekoia *s);

/* sekoia_diag.c: the output's diagnose(). */
int sekoia_diagnose(void *inst, struct nfc_ctx *ctx, unsigned flags);

#endif
