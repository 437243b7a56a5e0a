/* Declarative parameters: the core validates a section against a plugin's
 * table, applies defaults and writes the values into the instance struct. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "nfc.h"

const char *nfc_param_type_name(enum nfc_param_type t)
{
	switch (t) {
	case NFC_PARAM_STRING: return "string";
	case NFC_PARAM_INT: return "integer";
	case NFC_PARAM_BOOL: return "yes/no";
	case NFC_PARAM_SIZE: return "size";
	}
	return "?";
}

int nfc_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_ll(const char *v, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	return (errno || end == v || *end || isspace((unsigned char)*v)) ? -1 : 0;
}

/* "64", "512k", "32M", "1G" (powers of 1024). */
static int parse_size(const char *v, unsigned long long *out)
{
	unsigned long long n, mult = 1;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'b' || *end == 'B') /* 32MiB, 32MB */
		end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
	if (*end || (n && mult > ~0ULL / n))
		return -1;
	*out = n * mult;
	return 0;
}

static void range_text(const struct nfc_param *p, char *buf, size_t len)
{
	if (p->min || p->max)
		snprintf(buf, len, " from %lld to %lld", p->min, p->max);
	else
		buf[0] = '\0';
}

/* Write one value; on failure describe the fix in `why`. */
static int set_value(const struct nfc_param *p, void *inst, const char *v, char *why, size_t wl)
{
	char *dst = (char *)inst + p->offset;
	char range[64];
	long long ll;
	unsigned long long ull;
	int b;

	range_text(p, range, sizeof(range));
	switch (p->type) {
	case NFC_PARAM_STRING: {
		char *s = strdup(v);

		if (!s) {
			snprintf(why, wl, "out of memory");
			return -1;
		}
		free(*(char **)dst);
		*(char **)dst = s;
		return 0;
	}
	case NFC_PARAM_INT:
		if (parse_ll(v, &ll) < 0 || ((p->min || p->max) && (ll < p->min || ll > p->max))) {
			snprintf(why, wl, "expected an integer%s", range);
			return -1;
		}
		*(long long *)dst = ll;
		return 0;
	case NFC_PARAM_BOOL:
		if (nfc_parse_bool(v, &b) < 0) {
			snprintf(why, wl, "expected yes or no (also true/false, on/off, 1/0)");
			return -1;
		}
		*(int *)dst = b;
		return 0;
	case NFC_PARAM_SIZE:
		if (parse_size(v, &ull) < 0 || ((p->min || p->max) &&
		                                (ull < (unsigned long long)p->min || ull > (unsigned long long)p->max))) {
			snprintf(why, wl, "expected a size such as 512k, 32M or 1G%s", range);
			return -1;
		}
		*(unsigned long long *)dst = ull;
		return 0;
	}
	snprintf(why, wl, "parameter of unknown type");
	return -1;
}

static const struct nfc_param *find_param(const struct nfc_param *t, const char *key)
{
	for (; t && t->name; t++)
		if (!strcmp(t->name, key))
			return t;
	return NULL;
}

static void list_keys(const struct nfc_param *t1, const struct nfc_param *t2, const char *const *extra,
                      char *buf, size_t len)
{
	size_t n = 0;
	const struct nfc_param *t;
	int pass;

	buf[0] = '\0';
	for (pass = 0; pass < 2; pass++)
		for (t = pass ? t2 : t1; t && t->name && n < len; t++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", t->name);
	for (; extra && *extra && n < len; extra++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", *extra);
}

static int apply_table(const struct nfc_param *t, void *inst, const struct nfc_section *s, const char *who,
                       nfc_report_fn report, void *arg)
{
	const char *path = s ? s->path : "configuration";
	int errors = 0;
	char why[160];

	for (; t && t->name; t++) {
		unsigned line = 0;
		const char *v = nfc_section_get(s, t->name, &line);

		if (!v) {
			if (t->flags & NFC_PARAM_REQUIRED) {
				if (s)
					report(arg, "%s:%u: [%s] %s: missing; add %s=... under [%s] (%s)", path,
					       s->line, who, t->name, t->name, who, t->doc ? t->doc : "required");
				else
					report(arg, "%s: [%s] %s: missing; add a [%s] section with %s=... (%s)", path,
					       who, t->name, who, t->name, t->doc ? t->doc : "required");
				errors++;
				continue;
			}
			v = t->def;
			line = 0;
		}
		if (!v)
			continue;
		if (set_value(t, inst, v, why, sizeof(why)) < 0) {
			if (t->flags & NFC_PARAM_SECRET)
				report(arg, "%s:%u: [%s] %s: invalid value; %s", path, line, who, t->name, why);
			else if (line)
				report(arg, "%s:%u: [%s] %s: invalid value '%.80s'; %s", path, line, who, t->name, v, why);
			else
				report(arg, "built-in default of [%s] %s ('%s') is invalid; %s", who, t->name, v, why);
			errors++;
		}
	}
	return errors;
}

int nfc_params_apply(const struct nfc_param *table, const struct nfc_param *table2, void *inst,
                     void *inst2, const struct nfc_section *s, const char *const *extra,
                     const char *who, nfc_report_fn report, void *arg)
{
	int errors = 0;

	if (s) {
		int n = config_setting_length(s->group);

		for (int i = 0; i < n; i++) {
			config_setting_t *v = config_setting_get_elem(s->group, (unsigned)i);
			const char *key = config_setting_name(v);
			const char *const *e;
			char keys[512];

			if (find_param(table, key) || find_param(table2, key))
				continue;
			for (e = extra; e && *e && strcmp(*e, key); e++)
				;
			if (e && *e)
				continue;
			list_keys(table, table2, extra, keys, sizeof(keys));
			report(arg, "%s:%u: [%s] %s: unknown key; the keys of this section are: %s", s->path,
			       config_setting_source_line(v), s->title, key, keys);
			errors++;
		}
	}
	errors += apply_table(table, inst, s, who, report, arg);
	errors += apply_table(table2, inst2, s, who, report, arg);
	return errors;
}

void nfc_params_free(const struct nfc_param *t, void *inst)
{
	for (; t && t->name; t++) {
		if (t->type == NFC_PARAM_STRING) {
			char **p = (char **)((char *)inst + t->offset);

			free(*p);
			*p = NULL;
		}
	}
}
