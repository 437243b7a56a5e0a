/* The plugin loader (Varnish's rule): a plugin whose ABI major differs from
 * the core's, or whose minor is newer, is refused naming both versions. Only
 * the first `size` bytes of each struct a plugin hands over are read. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "nfc.h"

static struct nfc_loaded_plugin *loaded;

const char *nfc_kind_prefix(enum nfc_plugin_kind kind)
{
	switch (kind) {
	case NFC_KIND_INPUT: return "in";
	case NFC_KIND_DECODER: return "dec";
	case NFC_KIND_OUTPUT: return "out";
	}
	return "?";
}

const char *nfc_kind_name(enum nfc_plugin_kind kind)
{
	switch (kind) {
	case NFC_KIND_INPUT: return "input";
	case NFC_KIND_DECODER: return "decoder";
	case NFC_KIND_OUTPUT: return "output";
	}
	return "?";
}

const char *nfc_plugin_dir(const char *configured)
{
	const char *env = getenv("NETFLOW_CONCENTRATOR_PLUGIN_DIR");

	if (configured && *configured)
		return configured;
	if (env && *env)
		return env;
	return NFC_PLUGIN_DIR;
}

/* Copy min(declared, ours) bytes of a struct that starts with its size. */
static int copy_sized(void *dst, size_t dstsize, const void *src)
{
	size_t declared;

	memset(dst, 0, dstsize);
	if (!src)
		return 0;
	memcpy(&declared, src, sizeof(declared));
	if (declared < sizeof(size_t))
		return -1;
	memcpy(dst, src, declared < dstsize ? declared : dstsize);
	*(size_t *)dst = declared;
	return 0;
}

static size_t param_size(enum nfc_param_type t)
{
	switch (t) {
	case NFC_PARAM_STRING: return sizeof(char *);
	case NFC_PARAM_INT: return sizeof(long long);
	case NFC_PARAM_BOOL: return sizeof(int);
	case NFC_PARAM_SIZE: return sizeof(unsigned long long);
	}
	return 0;
}

static int check_params(const struct nfc_param *p, size_t instance_size, char *why, size_t len)
{
	for (; p && p->name; p++) {
		if (p->type < NFC_PARAM_STRING || p->type > NFC_PARAM_SIZE) {
			snprintf(why, len, "parameter '%s' has an unknown type %d", p->name, (int)p->type);
			return -1;
		}
		if (p->offset > instance_size || param_size(p->type) > instance_size - p->offset) {
			snprintf(why, len, "parameter '%s' is stored outside the instance (offset %zu, "
			         "instance_size %zu)", p->name, p->offset, instance_size);
			return -1;
		}
		for (const struct nfc_param *q = p + 1; q->name; q++)
			if (!strcmp(p->name, q->name)) {
				snprintf(why, len, "parameter '%s' is declared twice", p->name);
				return -1;
			}
	}
	return 0;
}

static struct nfc_loaded_plugin *load_file(const char *path, char *err, size_t errlen)
{
	struct nfc_loaded_plugin *lp;
	const struct nfc_plugin *desc;
	char why[160];
	void *dl;

	for (lp = loaded; lp; lp = lp->next)
		if (!strcmp(lp->path, path))
			return lp;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(err, errlen, "cannot load plugin %s: %s", path, dlerror());
		return NULL;
	}
	desc = dlsym(dl, NFC_PLUGIN_SYMBOL);
	if (!desc) {
		snprintf(err, errlen, "%s is not a netflow-concentrator plugin: it does not export %s", path,
		         NFC_PLUGIN_SYMBOL);
		goto close_dl;
	}
	if (desc->size < offsetof(struct nfc_plugin, abi_minor) + sizeof(desc->abi_minor)) {
		snprintf(err, errlen, "plugin %s has a truncated descriptor (%zu bytes)", path, desc->size);
		goto close_dl;
	}
	if (desc->abi_major != NFC_ABI_MAJOR || desc->abi_minor > NFC_ABI_MINOR) {
		snprintf(err, errlen, "plugin %s was built for plugin ABI %u.%u, but this netflow-concentrator "
		         "provides ABI %u.%u: rebuild the plugin against this version's nfc/plugin.h",
		         path, desc->abi_major, desc->abi_minor, NFC_ABI_MAJOR, NFC_ABI_MINOR);
		goto close_dl;
	}
	lp = calloc(1, sizeof(*lp));
	if (!lp) {
		snprintf(err, errlen, "out of memory loading %s", path);
		goto close_dl;
	}
	copy_sized(&lp->d, sizeof(lp->d), desc);
	if (!lp->d.name || !lp->d.version || lp->d.kind < NFC_KIND_INPUT || lp->d.kind > NFC_KIND_OUTPUT) {
		snprintf(err, errlen, "plugin %s has an invalid descriptor (name, version or kind missing)", path);
		goto free_lp;
	}
	if (copy_sized(&lp->in_ops, sizeof(lp->in_ops), lp->d.input) < 0 ||
	    copy_sized(&lp->dec_ops, sizeof(lp->dec_ops), lp->d.decoder) < 0 ||
	    copy_sized(&lp->out_ops, sizeof(lp->out_ops), lp->d.output) < 0) {
		snprintf(err, errlen, "plugin %s has an operation table without its size", path);
		goto free_lp;
	}
	if ((lp->d.kind == NFC_KIND_INPUT && (!lp->in_ops.open || !lp->in_ops.run)) ||
	    (lp->d.kind == NFC_KIND_DECODER && (!lp->dec_ops.decode || !lp->dec_ops.versions[0])) ||
	    (lp->d.kind == NFC_KIND_OUTPUT && (!lp->out_ops.encode || !lp->out_ops.send))) {
		snprintf(err, errlen, "plugin %s (%s) lacks the operations its kind requires", path,
		         nfc_kind_name(lp->d.kind));
		goto free_lp;
	}
	if (check_params(lp->d.params, lp->d.instance_size, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "plugin %s: %s", path, why);
		goto free_lp;
	}
	lp->d.input = lp->d.input ? &lp->in_ops : NULL;
	lp->d.decoder = lp->d.decoder ? &lp->dec_ops : NULL;
	lp->d.output = lp->d.output ? &lp->out_ops : NULL;
	lp->dl = dl;
	lp->path = strdup(path);
	if (!lp->path) {
		snprintf(err, errlen, "out of memory loading %s", path);
		goto free_lp;
	}
	lp->next = loaded;
	loaded = lp;
	return lp;

free_lp:
	free(lp);
close_dl:
	dlclose(dl);
	return NULL;
}

struct nfc_loaded_plugin *nfc_plugin_load_path(const char *path, char *err, size_t errlen)
{
	return load_file(path, err, errlen);
}

struct nfc_loaded_plugin *nfc_plugin_load(const char *dir, enum nfc_plugin_kind kind, const char *name,
                                          char *err, size_t errlen)
{
	struct nfc_loaded_plugin *lp;
	char path[4096];
	FILE *f;

	if (!*name || strchr(name, '/') || strlen(name) > 64) {
		snprintf(err, errlen, "'%s' is not a plugin name", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s_%s.so", dir, nfc_kind_prefix(kind), name);
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s plugin '%s' not found: no %s_%s.so in %s (set [core] plugin_dir or "
		         "NETFLOW_CONCENTRATOR_PLUGIN_DIR; --list-plugins shows what is there)",
		         nfc_kind_name(kind), name, nfc_kind_prefix(kind), name, dir);
		return NULL;
	}
	fclose(f);
	lp = load_file(path, err, errlen);
	if (!lp)
		return NULL;
	if (lp->d.kind != kind || strcmp(lp->d.name, name)) {
		snprintf(err, errlen, "plugin %s declares itself as %s '%s', not %s '%s'", path,
		         nfc_kind_name(lp->d.kind), lp->d.name, nfc_kind_name(kind), name);
		return NULL;
	}
	return lp;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int nfc_plugin_scan(const char *dir, const char *prefix, void (*fn)(const char *path, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, plen = prefix ? strlen(prefix) : 0;

	if (!d)
		return NFC_ERROR;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 4 || strcmp(e->d_name + len - 3, ".so") || e->d_name[0] == '.')
			continue;
		if (prefix && (strncmp(e->d_name, prefix, plen) || e->d_name[plen] != '_'))
			continue;
		if (!prefix && strncmp(e->d_name, "in_", 3) && strncmp(e->d_name, "dec_", 4) &&
		    strncmp(e->d_name, "out_", 4))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fn(path, arg);
		free(names[i]);
	}
	free(names);
	return NFC_OK;
}

void nfc_plugins_unload(void)
{
	while (loaded) {
		struct nfc_loaded_plugin *lp = loaded;

		loaded = lp->next;
		/* Keep the code mapped under sanitizers so leak reports stay readable. */
		if (!getenv("NFC_NO_DLCLOSE"))
			dlclose(lp->dl);
		free(lp->path);
		free(lp);
	}
}
