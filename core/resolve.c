/*
 * Name lookups with a deadline. getaddrinfo() takes no timeout (a resolver
 * that does not answer costs its own retries, often tens of seconds), so
 * the lookup runs on a short-lived thread and the caller stops waiting at
 * its deadline; a lookup that answers late frees its own result.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfc.h"

struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs; /* the waiter and the thread: the last one frees */
	int done;
	int gai, err;
	struct addrinfo *res;
	char port[8];
	char host[];
};

static void lookup_unref(struct lookup *l)
{
	int last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void *lookup_main(void *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(l->host, l->port, &hints, &res);
	int err = errno;

	pthread_mutex_lock(&l->mu);
	l->gai = gai;
	l->err = err;
	l->res = gai ? NULL : res;
	l->done = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	lookup_unref(l);
	return NULL;
}

static struct lookup *lookup_new(const char *host, unsigned port)
{
	size_t n = strlen(host) + 1;
	struct lookup *l = calloc(1, sizeof(*l) + n);
	pthread_condattr_t ca;

	if (!l)
		return NULL;
	memcpy(l->host, host, n);
	snprintf(l->port, sizeof(l->port), "%u", port);
	l->refs = 2;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

static int name_not_found(int gai)
{
#ifdef EAI_NODATA
	if (gai == EAI_NODATA)
		return 1;
#endif
	return gai == EAI_NONAME || gai == EAI_AGAIN || gai == EAI_FAIL;
}

static void lookup_words(char *why, size_t len, const char *host, int gai, int err)
{
	if (name_not_found(gai))
		snprintf(why, len, "the name %s does not resolve (%s); check host= and the DNS settings", host,
		         gai_strerror(gai));
	else
		snprintf(why, len, "%s", gai == EAI_SYSTEM ? strerror(err) : gai_strerror(gai));
}

int nfc_lookup(const char *host, unsigned port, unsigned timeout_ms, struct addrinfo **out, char *why,
               size_t whylen)
{
	struct lookup *l = lookup_new(host, port);
	struct timespec until;
	pthread_t t;
	int rc = NFC_RETRY;

	*out = NULL;
	if (!l) {
		snprintf(why, whylen, "out of memory");
		return NFC_ENOMEM;
	}
	if (pthread_create(&t, NULL, lookup_main, l)) {
		l->refs = 1;
		lookup_unref(l);
		snprintf(why, whylen, "cannot start the name lookup: out of resources");
		return NFC_RETRY;
	}
	pthread_detach(t);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mu);
	while (!l->done && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
	if (!l->done) {
		snprintf(why, whylen, "the name %s: no answer from the DNS within %u s; check the DNS settings",
		         host, timeout_ms / 1000);
	} else if (l->gai) {
		lookup_words(why, whylen, host, l->gai, l->err);
	} else {
		*out = l->res;
		l->res = NULL;
		rc = NFC_OK;
	}
	pthread_mutex_unlock(&l->mu);
	lookup_unref(l);
	return rc;
}

NFC_EXPORT int nfc_conn_resolve(const char *host, unsigned port, unsigned timeout_ms,
                                struct sockaddr_storage *addrs, size_t max, char *why, size_t whylen)
{
	struct addrinfo *res, *ai;
	int n = 0, rc;

	if (!host || !host[0] || !port || port > 65535 || !addrs || !max || !why || !whylen)
		return NFC_EINVAL;
	rc = nfc_lookup(host, port, timeout_ms, &res, why, whylen);
	if (rc != NFC_OK)
		return 0; /* not NFC_RETRY: that would read as one address */
	for (ai = res; ai && (size_t)n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(*addrs))
			continue;
		memset(&addrs[n], 0, sizeof(*addrs));
		memcpy(&addrs[n], ai->ai_addr, ai->ai_addrlen);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(why, whylen, "the name %s has no usable address", host);
		return 0;
	}
	return n;
}
