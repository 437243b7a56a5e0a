# nfc-plugin.m4: autoconf support for netflow-concentrator plugins.
#
# NFC_PLUGIN_SDK([MIN-VERSION])   (the netflow-concentrator version, optional)
#   Checks for the plugin SDK with pkg-config (module nfc-plugin), then
#   AC_SUBSTs NFC_PLUGIN_CFLAGS and nfcplugindir, the directory the daemon
#   loads plugins from (override with --with-nfc-plugindir=DIR).
AC_DEFUN([NFC_PLUGIN_SDK], [
  PKG_PROG_PKG_CONFIG
  PKG_CHECK_MODULES([NFC_PLUGIN], [nfc-plugin m4_ifval([$1], [>= $1])], [],
    [AC_MSG_ERROR([netflow-concentrator plugin SDK not found: install netflow-concentrator (make install), or set PKG_CONFIG_PATH to PREFIX/lib/pkgconfig])])
  AC_ARG_WITH([nfc-plugindir],
    [AS_HELP_STRING([--with-nfc-plugindir=DIR], [where to install the plugin (default: from nfc-plugin.pc)])],
    [nfcplugindir=$withval],
    [PKG_CHECK_VAR([nfcplugindir], [nfc-plugin], [plugindir])])
  AS_IF([test -z "$nfcplugindir"], [AC_MSG_ERROR([cannot tell the plugin directory: use --with-nfc-plugindir])])
  AC_SUBST([nfcplugindir])
])
