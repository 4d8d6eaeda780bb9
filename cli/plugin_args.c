/*
 * The plugin options of `consume` and `dispatch` (cli.h): one parser, so both take the
 * same flags with the same limits and messages.
 */
#include "cli.h"

int evbus_cli_plugin_opt(evbus_cli_plugin_args_t *pa, const char *cmd, int c, const char *arg) {
    switch (c) {
    case EVBUS_CLI_OPT_PLUGIN:
        if (pa->npaths == EVBUS_CLI_MAX_PLUGINS) {
            evbus_cli_err(cmd, "too many plugins (at most %d)", EVBUS_CLI_MAX_PLUGINS);
            return EVBUS_CLI_USAGE;
        }
        pa->paths[pa->npaths++] = arg;
        return -1;
    case EVBUS_CLI_OPT_PLUGINS:
        pa->dir = arg;
        return -1;
    case EVBUS_CLI_OPT_ISOLATE:
        pa->isolate = 1;
        return -1;
    }
    return EVBUS_CLI_NOT_MINE;
}
