#include <stdio.h>
#include "evbus/evbus.h"
int main(void) { printf("evbus-cli %s\n", evbus_version_str()); return 0; }
