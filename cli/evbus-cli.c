/*
 * evbus-cli's main().  The subcommands are in libevbus, behind one private entry point, so
 * they can use the library's internals without the library exporting them, and so the CLI
 * and the plugins it loads share one copy of the library (plugins need not link it).
 */
#include "evbus/evbus.h"

int evbus__cli_main(int argc, char **argv); /* libevbus, version node EVBUS_PRIVATE */

int main(int argc, char **argv) { return evbus__cli_main(argc, argv); }
