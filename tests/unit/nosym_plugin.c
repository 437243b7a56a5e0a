/* A shared object that is not a plugin: it exports no descriptor. */
int nfc_not_a_plugin(void);
int nfc_not_a_plugin(void)
{
	return 42;
}
