/* The INI reader. Syntax: `[section]` or `[input NAME]`/`[output NAME]`/
 * `[decoder NAME]` headers, `key = value` (or `key: value`) lines with
 * case-insensitive keys, `#` or `;` comments on their own line or after
 * whitespace, optional double quotes around a value. The accepted forms are
 * those of Python's configparser, which the guide's file was written for. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "nfc.h"

#define MAX_FILE (1 << 20)

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static int add_section(struct nfc_config *c, char *title, unsigned line, char *err, size_t errlen)
{
	struct nfc_section *s, *n;
	char kind[64], name[256], extra[8], gname[32];
	int k;

	k = sscanf(title, "%63s %255s %7s", kind, name, extra);
	if (k < 1 || k > 2 || !valid_name(kind) || (k == 2 && !valid_name(name))) {
		snprintf(err, errlen, "%s:%u: [%s]: not a valid section header; use [listener], [forwarder], "
		         "[core], or [input NAME] / [output NAME] / [decoder NAME]", c->path, line, title);
		return NFC_EINVAL;
	}
	if (k == 1) {
		if (strcmp(kind, "listener") && strcmp(kind, "forwarder") && strcmp(kind, "core")) {
			snprintf(err, errlen, "%s:%u: [%s]: unknown section; use [listener], [forwarder], "
			         "[core], or [input NAME] / [output NAME] / [decoder NAME]", c->path, line, title);
			return NFC_EINVAL;
		}
		strcpy(name, kind);
	} else if (strcmp(kind, "input") && strcmp(kind, "output") && strcmp(kind, "decoder")) {
		snprintf(err, errlen, "%s:%u: [%s]: unknown section kind '%s'; use input, output or decoder",
		         c->path, line, title, kind);
		return NFC_EINVAL;
	}
	for (size_t i = 0; i < c->nsec; i++) {
		const struct nfc_section *o = &c->sec[i];
		int same_instance = !strcmp(o->name, name) &&
		                    (!strcmp(o->kind, "decoder") == !strcmp(kind, "decoder"));

		if (same_instance) {
			snprintf(err, errlen, "%s:%u: [%s]: the name '%s' is already used by [%s] at line %u; "
			         "give each section its own name", c->path, line, title, name, o->title, o->line);
			return NFC_EINVAL;
		}
	}
	n = realloc(c->sec, (c->nsec + 1) * sizeof(*c->sec));
	if (!n)
		return NFC_ENOMEM;
	c->sec = n;
	s = &c->sec[c->nsec];
	memset(s, 0, sizeof(*s));
	snprintf(gname, sizeof(gname), "s%zu", c->nsec);
	s->group = config_setting_add(config_root_setting(&c->cfg), gname, CONFIG_TYPE_GROUP);
	s->title = malloc(strlen(kind) + strlen(name) + 2);
	s->kind = strdup(kind);
	s->name = strdup(name);
	if (!s->group || !s->title || !s->kind || !s->name) {
		free(s->title);
		free(s->kind);
		free(s->name);
		return NFC_ENOMEM;
	}
	if (k == 1)
		strcpy(s->title, kind);
	else
		sprintf(s->title, "%s %s", kind, name);
	s->group->line = line;
	s->line = line;
	s->path = c->path;
	c->nsec++;
	return NFC_OK;
}

static int add_key(struct nfc_config *c, char *key, char *value, unsigned line, char *err, size_t errlen)
{
	struct nfc_section *s = &c->sec[c->nsec - 1];
	config_setting_t *v;
	size_t vl = strlen(value);

	/* Key names are case-insensitive, as configparser treats them. */
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	if (!valid_name(key)) {
		snprintf(err, errlen, "%s:%u: [%s] '%s': not a valid key name (letters, digits, _ and -)",
		         c->path, line, s->title, key);
		return NFC_EINVAL;
	}
	if (config_setting_get_member(s->group, key)) {
		snprintf(err, errlen, "%s:%u: [%s] %s: set twice (first at line %u); keep one",
		         c->path, line, s->title, key,
		         config_setting_source_line(config_setting_get_member(s->group, key)));
		return NFC_EINVAL;
	}
	if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
		value[vl - 1] = '\0';
		value++;
	}
	v = config_setting_add(s->group, key, CONFIG_TYPE_STRING);
	if (!v || config_setting_set_string(v, value) != CONFIG_TRUE)
		return NFC_ENOMEM;
	v->line = line;
	return NFC_OK;
}

/* Cut a comment that starts after whitespace: "port = 2055  # default". */
static void strip_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

int nfc_config_parse(struct nfc_config *c, const char *path, const char *text, size_t len, char *err,
                     size_t errlen)
{
	char *copy, *line, *next;
	unsigned lineno = 0;
	int rc = NFC_OK;

	memset(c, 0, sizeof(*c));
	config_init(&c->cfg);
	c->path = strdup(path);
	copy = malloc(len + 1);
	if (!c->path || !copy) {
		free(copy);
		snprintf(err, errlen, "%s: out of memory", path);
		return NFC_ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte; is it a text file?", path);
		rc = NFC_EINVAL;
		goto out;
	}
	for (line = copy; line && rc == NFC_OK; line = next) {
		char *s, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		s = trim(line);
		if (lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
			s = trim(s + 3); /* UTF-8 byte order mark from Windows editors */
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || *trim(close + 1) != '\0') {
				snprintf(err, errlen, "%s:%u: '%s': a section header must be [name] alone on its line",
				         path, lineno, s);
				rc = NFC_EINVAL;
				break;
			}
			*close = '\0';
			rc = add_section(c, trim(s + 1), lineno, err, errlen);
			continue;
		}
		/* `key = value`, or `key: value` as Python's configparser also
		 * reads it: the first of the two delimiters counts. */
		eq = s + strcspn(s, "=:");
		if (!*eq) {
			/* The line is not echoed: it may be a secret (an intake
			 * key continued on its own line). */
			snprintf(err, errlen, "%s:%u: expected key = value (a value cannot continue on the "
			         "next line)", path, lineno);
			rc = NFC_EINVAL;
			break;
		}
		if (c->nsec == 0) {
			snprintf(err, errlen, "%s:%u: key outside any section; put it under [listener] "
			         "or [forwarder]", path, lineno);
			rc = NFC_EINVAL;
			break;
		}
		*eq = '\0';
		strip_comment(eq + 1);
		rc = add_key(c, trim(s), trim(eq + 1), lineno, err, errlen);
	}
out:
	free(copy);
	return rc;
}

int nfc_config_load(struct nfc_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	int rc;

	if (!f) {
		int e = errno;

		memset(c, 0, sizeof(*c));
		config_init(&c->cfg);
		snprintf(err, errlen, "%s: cannot open the configuration file: %s%s", path, strerror(e),
		         e == ENOENT ? " (create it from the example configuration.ini, or pass -c FILE; "
		                       "in Docker, mount it at /app/configuration.ini)" : "");
		return NFC_EINVAL;
	}
	text = malloc(MAX_FILE + 1);
	if (!text) {
		fclose(f);
		memset(c, 0, sizeof(*c));
		config_init(&c->cfg);
		snprintf(err, errlen, "%s: out of memory", path);
		return NFC_ENOMEM;
	}
	n = fread(text, 1, MAX_FILE + 1, f);
	if (ferror(f) || n > MAX_FILE) {
		int e = errno;

		fclose(f);
		free(text);
		memset(c, 0, sizeof(*c));
		config_init(&c->cfg);
		snprintf(err, errlen, "%s: %s", path, n > MAX_FILE ? "larger than 1 MiB; is it the right file?"
		                                                    : strerror(e));
		return NFC_EINVAL;
	}
	fclose(f);
	rc = nfc_config_parse(c, path, text, n, err, errlen);
	free(text);
	return rc;
}

void nfc_config_free(struct nfc_config *c)
{
	for (size_t i = 0; i < c->nsec; i++) {
		free(c->sec[i].title);
		free(c->sec[i].kind);
		free(c->sec[i].name);
	}
	free(c->sec);
	free(c->path);
	config_destroy(&c->cfg);
	memset(c, 0, sizeof(*c));
}

const struct nfc_section *nfc_config_find(const struct nfc_config *c, const char *kind, const char *name)
{
	for (size_t i = 0; i < c->nsec; i++)
		if (!strcmp(c->sec[i].kind, kind) && (!name || !strcmp(c->sec[i].name, name)))
			return &c->sec[i];
	return NULL;
}

const char *nfc_section_get(const struct nfc_section *s, const char *key, unsigned *line)
{
	config_setting_t *v;

	if (!s)
		return NULL;
	v = config_setting_get_member(s->group, key);
	if (!v)
		return NULL;
	if (line)
		*line = config_setting_source_line(v);
	return config_setting_get_string(v);
}
